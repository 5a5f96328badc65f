"""Keras programs run with ``keras`` changed to ``glassnet``, their structure kept.

Each test is a Keras example as its authors wrote it, with the data replaced by what is
here (scikit-learn's 8x8 digits, generated sequences) and fewer epochs; the comments mark
every line that differs from the original.
"""
import numpy as np

import glassnet as gn
from glassnet import layers


def test_simple_mnist_convnet_on_the_8x8_digits():
    """Keras's "Simple MNIST convnet" (keras.io/examples/vision/mnist_convnet)."""
    # Model / data parameters
    num_classes = 10
    input_shape = (8, 8, 1)  # differs: the 8x8 digits instead of 28x28 MNIST

    # Load the data and split it between train and test sets
    x, y = gn.datasets.load_digits()  # differs: keras.datasets.mnist.load_data()
    x_train, x_test, y_train, y_test = x[:1400], x[1400:], y[:1400], y[1400:]

    # Scale images to the [0, 1] range
    x_train = x_train.astype("float32") / 16  # differs: pixels go to 16, not 255
    x_test = x_test.astype("float32") / 16
    # Make sure images have shape (8, 8, 1)
    x_train = np.expand_dims(x_train.reshape(-1, 8, 8), -1)  # differs: the digits come as rows of 64
    x_test = np.expand_dims(x_test.reshape(-1, 8, 8), -1)

    # convert class vectors to binary class matrices
    y_train = gn.utils.to_categorical(y_train, num_classes)
    y_test = gn.utils.to_categorical(y_test, num_classes)

    model = gn.Sequential(
        [
            gn.Input(shape=input_shape),
            # differs: "same" padding, as 8x8 images are too small for two valid convolutions,
            # and 16 and 32 filters instead of 32 and 64 (a fast test)
            layers.Conv2D(16, kernel_size=(3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        seed=0,  # differs: glassnet's seed makes the test exact
    )
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 6,090" in lines[0]  # 160 + 4,640 + 1,290 (2x2x32 features into 10 units)

    batch_size = 32  # differs: 128 and 15 epochs in the original
    epochs = 10

    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)

    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", score[0])
    print("Test accuracy:", score[1])
    assert score[1] > 0.85  # (chance: 0.1; 0.88 measured at seed 0)


def test_two_input_functional_model_with_a_skip_connection_and_two_outputs(tmp_path):
    """The "multi-input and multi-output" ticket model of Keras's functional API guide
    (keras.io/guides/functional_api), with two inputs and a residual block added."""
    num_tags = 12  # Number of unique issue tags
    num_words = 1000  # Size of vocabulary obtained when preprocessing text data (differs: 10000)
    num_departments = 4  # Number of departments for predictions

    title_input = gn.Input(shape=(None,), name="title")  # Variable-length sequence of ints
    tags_input = gn.Input(shape=(num_tags,), name="tags")  # Binary vectors of size `num_tags`
    # (differs: the guide's third input, the body text, is left out)

    # Embed each word in the title into a 16-dimensional vector (differs: 64)
    title_features = layers.Embedding(num_words, 16)(title_input)
    # Reduce sequence of embedded words in the title into a single 32-dimensional vector
    title_features = layers.LSTM(32)(title_features)

    # Merge all available features into a single large vector via concatenation
    x = layers.concatenate([title_features, tags_input])
    # differs: a residual block, the skip connection
    block = layers.Dense(44, activation="relu")(x)
    x = layers.add([x, block])

    # Stick a logistic regression for priority prediction on top of the features
    priority_pred = layers.Dense(1, name="priority")(x)
    # Stick a department classifier on top of the features
    department_pred = layers.Dense(num_departments, name="department")(x)

    # Instantiate an end-to-end model predicting both priority and department
    model = gn.Model(
        inputs=[title_input, tags_input],
        outputs={"priority": priority_pred, "department": department_pred},
        seed=0,  # differs: exact test
    )
    text = model.summary(print_fn=lambda line: None)
    assert "Connected to" in text and "add (Add)" in text and "concatenate[0][0], dense[0][0]" in text
    gn.pictures.network_diagram(model, tmp_path / "ticket.png")

    model.compile(
        optimizer=gn.optimizers.RMSprop(1e-3),
        loss={
            "priority": gn.losses.BinaryCrossentropy(from_logits=True),
            "department": gn.losses.CategoricalCrossentropy(from_logits=True),
        },
        loss_weights={"priority": 1.0, "department": 0.2},
    )

    # Dummy input data
    rng = np.random.default_rng(0)  # differs: a seeded generator instead of np.random
    title_data = rng.integers(num_words, size=(256, 10))
    tags_data = rng.integers(2, size=(256, num_tags)).astype("float32")

    # Dummy target data (differs: targets the inputs determine, so learning shows)
    priority_targets = tags_data[:, :1]
    dept_targets = gn.utils.to_categorical(tags_data[:, 1] + 2 * tags_data[:, 2], num_departments)

    history = model.fit(
        {"title": title_data, "tags": tags_data},
        {"priority": priority_targets, "department": dept_targets},
        epochs=10,  # differs: 2 in the guide
        batch_size=32,
        verbose=0,
    )
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    predictions = model.predict({"title": title_data[:5], "tags": tags_data[:5]})
    assert predictions["priority"].shape == (5, 1) and predictions["department"].shape == (5, 4)

    model.save(tmp_path / "ticket.gnet")
    same = gn.load_model(tmp_path / "ticket.gnet")
    again = same.predict({"title": title_data[:5], "tags": tags_data[:5]})
    np.testing.assert_array_equal(again["department"], predictions["department"])


def test_bidirectional_lstm_sequence_classifier_with_pad_sequences():
    """Keras's "Bidirectional LSTM on IMDB" (keras.io/examples/nlp/bidirectional_lstm_imdb)."""
    max_features = 50  # Only consider the top 50 words (differs: 20000)
    maxlen = 12  # Only consider the first 12 words of each review (differs: 200)

    # Input for variable-length sequences of integers
    inputs = gn.Input(shape=(None,), dtype="int32")
    # Embed each integer in a 16-dimensional vector (differs: 128)
    x = layers.Embedding(max_features, 16)(inputs)
    # Add 2 bidirectional LSTMs (differs: 8 units, not 64)
    x = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(8))(x)
    # Add a classifier
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = gn.Model(inputs, outputs, seed=0)  # differs: the seed
    model.summary(print_fn=lambda line: None)

    # differs: generated reviews instead of keras.datasets.imdb: ids 1-24 are "good"
    # words, 25-49 "bad" ones, and a review is positive when it has more good words
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 16, size=600)
    reviews = [rng.integers(1, max_features, size=n) for n in lengths]
    labels = np.array([float((r < 25).sum() > (r >= 25).sum()) for r in reviews])
    (x_train, y_train), (x_val, y_val) = (reviews[:480], labels[:480]), (reviews[480:], labels[480:])
    print(len(x_train), "Training sequences")
    print(len(x_val), "Validation sequences")
    # Use pad_sequence to standardize sequence length:
    # this will truncate sequences longer than 12 words and zero-pad sequences shorter than 12 words.
    x_train = gn.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = gn.utils.pad_sequences(x_val, maxlen=maxlen)
    assert x_train.shape == (480, 12) and x_train.dtype == np.int32

    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="binary_crossentropy",  # differs: "adam", lr 0.01
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=6,  # differs: epochs=2
                        validation_data=(x_val, y_val), verbose=0)
    assert history.history["val_accuracy"][-1] > 0.8
