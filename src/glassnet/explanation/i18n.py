"""The words of an explanation in English and Chinese.

Equations are language-neutral; everything else an explanation prints (titles, section
headings, layer headings, summaries, notes and the few words inside formulas, written
``<key:argument>``) is looked up here when it is rendered.
"""
import re

PHRASES = {
    "en": {
        "title.network": "One training step of {model}",
        "title.graph": "Forward and backward pass of {name}",
        "section.forward": "Forward pass",
        "section.loss": "Loss",
        "section.backward": "Backward pass (chain rule)",
        "section.update": "Update (gradient descent, eta = {eta})",
        "section.vectorised": "The same with m = {m} samples, vectorised",
        "section.graph": "Drawing",
        "notes": "Notes",
        "layer": "layer {n}: {kind}",
        "layer.shown": "layer {n}: {units} neurons, showing {shown}",
        "layer.rest": "the other {count} neurons of layer {n}: {names}, values from {low} to {high}",
        "layer.position": "layer {n}: {kind}, {what} {where} of output shape {shape}",
        "target": "target y = {y}",
        "target.class": "target class {label} (one-hot y = {y})",
        "graph.summary": "{count} more nodes ({ops}) are not listed one by one",
        "note.rescaled": "The inputs x are the rescaled features (x * scale + offset of the Rescaling layer).",
        "note.penalty": "Weight penalties are left out of the loss and gradients shown.",
        "note.twice": "{name} is used {count} times: its gradient is the sum of the contributions.",
        "note.dropout": "Dropout is shown as in training (mask drawn with seed {seed}); the loss and gradients "
                        "use the same mask.",
        "note.batch1": "one sample: each feature's batch statistics run over one value, so xhat = 0",
        "recurrent.step": "layer {n}: {kind}, time step {t} of {steps}, units {shown} of {units}",
        "more": "{arg} more terms",
        "shape": "output shape {shape} (values moved, no arithmetic)",
        "w.window": "window of y{arg}",
        "w.win": "window",
        "w.kernel": "kernel W[..., {arg}]",
        "w.here": "dL/dW[..., {arg}] (this position)",
        "w.allpos": "sum over all positions of {arg}",
        "w.winner": "winner {arg}",
        "w.sumof": "sum of the {arg} values",
        "w.sumsq": "sum of (x - mu)^2",
        "w.sum": "sum of {arg}",
        "w.id": "id at step {arg}",
        "w.fromstep": "from step {arg}",
        "w.steps": "sum over the steps of {arg}",
        "d.constant": "constant",
        "d.value": "value {arg}",
        "d.grad": "grad {arg}",
        "d.left": "… {arg} earlier ops not drawn (dashed boxes: their results)",
        "position": "position",
        "time step": "time step",
        "neuron": "neuron",
        "feature": "feature",
        "sample": "sample",
        "token": "token",
    },
    "zh": {
        "title.network": "{model} 的一次训练",
        "title.graph": "{name} 的前向与反向传播",
        "section.forward": "前向传播",
        "section.loss": "损失",
        "section.backward": "反向传播(链式法则)",
        "section.update": "参数更新(梯度下降,eta = {eta})",
        "section.vectorised": "向量化:m = {m} 个样本一起计算",
        "section.graph": "计算图",
        "notes": "说明",
        "layer": "第 {n} 层:{kind}",
        "layer.shown": "第 {n} 层:{units} 个神经元,显示 {shown}",
        "layer.rest": "第 {n} 层其余 {count} 个神经元:{names},取值从 {low} 到 {high}",
        "layer.position": "第 {n} 层:{kind},输出形状 {shape} 中的{what} {where}",
        "target": "目标值 y = {y}",
        "target.class": "目标类别 {label}(独热编码 y = {y})",
        "graph.summary": "另有 {count} 个节点({ops})未逐一列出",
        "note.rescaled": "输入 x 是经过缩放的特征(Rescaling 层:x * scale + offset)。",
        "note.penalty": "显示的损失和梯度不含权重惩罚项。",
        "note.twice": "{name} 被使用了 {count} 次:它的梯度是各部分贡献之和。",
        "note.dropout": "Dropout 按训练时的方式显示(掩码由种子 {seed} 生成);损失和梯度使用同一个掩码。",
        "note.batch1": "只有一个样本:每个特征的批统计量只含一个值,所以 xhat = 0",
        "recurrent.step": "第 {n} 层:{kind},第 {t} 个时间步(共 {steps} 步),显示单元 {shown}(共 {units} 个)",
        "more": "另外 {arg} 项",
        "shape": "输出形状 {shape}(只移动数值,没有运算)",
        "w.window": "y{arg} 的窗口",
        "w.win": "窗口",
        "w.kernel": "卷积核 W[..., {arg}]",
        "w.here": "dL/dW[..., {arg}](此位置)",
        "w.allpos": "所有位置上 {arg} 之和",
        "w.winner": "最大值来自 {arg}",
        "w.sumof": "{arg} 个值之和",
        "w.sumsq": "(x - mu)^2 之和",
        "w.sum": "{arg} 之和",
        "w.id": "第 {arg} 步的编号",
        "w.fromstep": "(来自第 {arg} 步)",
        "w.steps": "各时间步 {arg} 之和",
        "d.constant": "常数",
        "d.value": "值 {arg}",
        "d.grad": "梯度 {arg}",
        "d.left": "… 前面 {arg} 个运算未画出(虚线框:它们的结果)",
        "position": "位置",
        "time step": "时间步",
        "neuron": "神经元",
        "feature": "特征",
        "sample": "样本",
        "token": "词元",
    },
}

LANGUAGES = tuple(PHRASES)
_WORD = re.compile(r"<([a-z. ]+):([^<>]*)>")  # <key:argument>


def check_lang(lang):
    if lang not in PHRASES:
        raise ValueError(f"lang must be one of {sorted(PHRASES)}; received: lang={lang!r}")
    return lang


def phrase(lang, key, **kwargs):
    """The sentence ``key`` in ``lang`` with ``kwargs`` filled in (words among them translated too)."""
    table = PHRASES[lang]
    words = {k: table.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    return table[key].format(**words)


def words(lang, text, mark=False):
    """``text`` with its ``<key:argument>`` words in ``lang`` (inside « » with ``mark``, for MathML and TeX)."""
    left, right = ("«", "»") if mark else ("", "")
    return _WORD.sub(lambda m: left + phrase(lang, m.group(1), arg=m.group(2)) + right, text)
