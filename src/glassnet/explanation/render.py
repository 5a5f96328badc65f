"""An explanation's lines and how they print: text, Markdown, and an HTML page with MathML."""
import html as html_lib
import re
from dataclasses import dataclass, field

import numpy as np

from .i18n import check_lang, phrase, words

# NOTE: without a CJK family named, Chromium on a bare Linux draws Chinese headings as boxes.
CJK_FONTS = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", ' \
            '"Microsoft YaHei", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei"'
_CSS = ("body{{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,{cjk},sans-serif;max-width:60em;"
        "margin:2em auto;padding:0 1em;line-height:1.5}}ul{{padding:0}}li{{list-style:none;margin:.35em 0}}"
        "li.eq{{display:flex;flex-wrap:wrap;align-items:baseline;column-gap:.35em;row-gap:.15em}}"
        "li.eq math{{font-size:1.05em}}li.head{{font-weight:600;margin-top:.8em}}"
        "figure{{margin:1em 0;overflow-x:auto}}figure svg{{max-width:100%;height:auto}}").format(cjk=CJK_FONTS)


@dataclass
class Line:
    """One printed line: an equation ``symbol = formula = substituted = value``, or a sentence.

    ``key`` names the quantity for the tests (for example ("z", layer, j) or ("grad", "b"));
    ``None`` for lines that only guide the reader. ``text`` is a sentence, (phrase key, arguments),
    translated when rendered; ``heading`` marks a sentence that opens a group of lines.
    """

    section: str
    symbol: str = ""
    formula: str = ""
    substituted: str = ""
    value: object = None
    key: tuple = None
    text: tuple = None
    heading: bool = False


def fmt(v, digits=6):
    """A number as printed: ``digits`` significant digits, or the shortest exact form when None."""
    if isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v):
        return "[" + ", ".join(fmt(x, digits) for x in np.asarray(v, dtype=np.float64)) + "]"
    v = float(v) + 0.0  # + 0.0 turns -0.0 into 0.0
    if digits is None:
        text = repr(v)
        return text[:-2] if text.endswith(".0") else text
    return f"{v:.{digits}g}"


def paren(v, digits=6):
    """A number as a factor: negative ones in parentheses."""
    text = fmt(v, digits)
    return f"({text})" if text.startswith("-") else text


@dataclass
class Explanation:
    """What ``explain`` returns: its lines, rendered by ``str()`` or ``render(format, lang)``."""

    lines: list
    eta: float = 0.1
    model_name: str = "the network"
    notes: list = field(default_factory=list)
    title: str = "title.network"
    digits: int = 6
    figure: object = None  # an SVG drawing for the HTML page: a string, or a function of the language
    params: dict = field(default_factory=dict)  # section heading arguments

    def section(self, name):
        return [line for line in self.lines if line.section == name]

    def sections(self):
        return list(dict.fromkeys(line.section for line in self.lines))

    def _title(self, lang):
        return phrase(lang, self.title, model=self.model_name, name=self.model_name)

    def _heading(self, lang, sec):
        return phrase(lang, f"section.{sec}", eta=self.eta, **self.params)

    def _parts(self, line):
        value = None if line.value is None else fmt(line.value, self.digits)
        return [p for p in (line.symbol, line.formula, line.substituted, value) if p]

    def _sentence(self, line, lang):
        key, args = line.text
        args = {k: fmt(v, self.digits) if isinstance(v, (float, np.floating)) else v for k, v in args.items()}
        return phrase(lang, key, **args)

    def _notes(self, lang):
        return " ".join(phrase(lang, key, **args) for key, args in self.notes)

    def to_text(self, lang="en"):
        out = [self._title(lang), ""]
        for sec in self.sections():
            out.append(f"== {self._heading(lang, sec)} ==")
            for line in self.section(sec):
                if line.text:
                    out.append(("  " if line.heading else "    ") + self._sentence(line, lang))
                else:
                    out.append("    " + words(lang, " = ".join(self._parts(line))))
            out.append("")
        if self.notes:
            out.append(f"{phrase(lang, 'notes')}: {self._notes(lang)}")
        return "\n".join(out).rstrip() + "\n"

    def to_markdown(self, lang="en"):
        out = [f"# {self._title(lang)}", ""]
        for sec in self.sections():
            out += [f"## {self._heading(lang, sec)}", ""]
            for line in self.section(sec):
                if line.text:
                    out.append(f"- **{self._sentence(line, lang)}**" if line.heading else
                               f"- {self._sentence(line, lang)}")
                else:
                    out.append(f"- $${' = '.join(_tex(words(lang, p, mark=True)) for p in self._parts(line))}$$")
            out.append("")
        if self.notes:
            out.append(f"*{phrase(lang, 'notes')}:* {self._notes(lang)}")
        return "\n".join(out).rstrip() + "\n"

    def to_html(self, lang="en"):
        esc = html_lib.escape
        title = esc(self._title(lang))
        body = [f"<h1>{title}</h1>"]
        if self.figure:
            body.append(f"<figure>{self.figure(lang) if callable(self.figure) else self.figure}</figure>")
        for sec in self.sections():
            body.append(f"<h2>{esc(self._heading(lang, sec))}</h2><ul>")
            for line in self.section(sec):
                if line.text:
                    cls = ' class="head"' if line.heading else ""
                    body.append(f"<li{cls}>{esc(self._sentence(line, lang))}</li>")
                    continue
                # NOTE: one <math> per side and per few terms, so that a long sum wraps inside the page
                pieces = []
                for k, part in enumerate(self._parts(line)):
                    for c, chunk in enumerate(_chunks(words(lang, part, mark=True))):
                        lead = "<mo>=</mo>" if k and not c else ""
                        pieces.append(f"<math>{lead}<mrow>{_mathml(chunk)}</mrow></math>")
                body.append(f'<li class="eq">{"".join(pieces)}</li>')
            body.append("</ul>")
        if self.notes:
            body.append(f"<p><em>{esc(phrase(lang, 'notes'))}:</em> {esc(self._notes(lang))}</p>")
        return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
                f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")

    def render(self, format="text", lang="en"):  # noqa: A002 - the CLI's --format
        """The explanation as ``"text"``, ``"markdown"`` or ``"html"``, in ``lang`` (``"en"`` or ``"zh"``)."""
        check_lang(lang)
        renderers = {"text": self.to_text, "markdown": self.to_markdown, "html": self.to_html}
        if format not in renderers:
            raise ValueError(f"format must be one of {sorted(renderers)}; received: format={format!r}")
        return renderers[format](lang)

    def values(self):
        """Every keyed quantity: {key: value} (what the tests compare with autograd)."""
        return {line.key: line.value for line in self.lines if line.key is not None}

    def __str__(self):
        return self.to_text()


def _chunks(text, terms=2, items=4):
    """``text`` cut after every few top-level ``+`` terms and every few items of a vector
    (never inside translated words, which stand between « and »)."""
    depth, cuts, count, listed, words_ = 0, [], 0, 0, False
    for i, ch in enumerate(text):
        words_ = (words_ or ch == "«") and ch != "»"
        if words_:
            continue
        depth += ch in "([" and 1 or (ch in ")]" and -1 or 0)
        if ch == "+" and depth == 0 and text[i - 1:i] == " ":
            count += 1
            if count % terms == 0:
                cuts.append(i)
        elif ch == "," and depth > 0 and text[i + 1:i + 2] == " ":
            listed += 1
            if listed % items == 0:
                cuts.append(i + 1)
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(text[start:cut].strip())
        start = cut
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _tex(text):
    text = re.sub(r"«([^»]*)»", lambda m: r"\text{" + m.group(1) + "}", text)
    text = re.sub(r"\bd([A-Za-z]\w*)/d([A-Za-z][\w,]*)", r"\\frac{\\partial \1}{\\partial \2}", text)
    text = re.sub(r"\s*\*\s*", r" \\cdot ", text)
    return text.replace("<-", r"\leftarrow").replace("eta", r"\eta")


_TOKEN = re.compile(r"""
    «(?P<text>[^»]*)»                                              # translated words
  | (?P<frac>d[A-Za-z][\w']*/d[A-Za-z][\w',]*(?:\[[^\]]*\])?)      # dL/dw31, dL/dx[2, 0, 1]
  | (?P<num>(?:(?<![\w)\]])-)?\d+(?:\.\d+)?(?:e[-+]?\d+)?)      # a minus sign that is no subtraction
  | (?P<name>[A-Za-z][A-Za-z_']*\d*(?:,\d+)?(?:\[[^\]]*\])?)        # z1, w33,1, x_2, relu', x[2, 0]
  | (?P<op><-|[-+*/=·(),\[\]^|])
  | (?P<other>\S)
""", re.VERBOSE)
_OPS_SHOWN = {"*": "·", "<-": "←"}
_FRACTION = re.compile(r"^d([A-Za-z][\w']*)/d(.+)$")
_SUBSCRIPT = re.compile(r"^([A-Za-z])(\d+(?:,\d+)?)$")


def _mathml(text):
    """A formula's text as MathML: numbers, names with subscripts, partial derivatives as fractions."""
    parts = []
    for m in _TOKEN.finditer(text):
        kind, tok = m.lastgroup, m.group(m.lastgroup)
        esc = html_lib.escape(tok)
        if kind == "text":
            parts.append(f"<mtext>&#160;{esc}&#160;</mtext>")
        elif kind == "frac":
            top, bottom = _FRACTION.match(tok).groups()
            parts.append(f"<mfrac><mrow><mo>∂</mo>{_mathml(top)}</mrow>"
                         f"<mrow><mo>∂</mo>{_mathml(bottom)}</mrow></mfrac>")
        elif kind == "num":
            parts.append(f"<mn>{esc}</mn>")
        elif kind == "name":
            sub = _SUBSCRIPT.match(tok)
            if tok == "eta":
                parts.append("<mi>η</mi>")
            elif sub:
                parts.append(f"<msub><mi>{sub.group(1)}</mi><mn>{sub.group(2)}</mn></msub>")
            else:
                parts.append(f"<mi>{esc}</mi>")
        else:
            parts.append(f"<mo>{html_lib.escape(_OPS_SHOWN.get(tok, tok))}</mo>")
    return "".join(parts)
