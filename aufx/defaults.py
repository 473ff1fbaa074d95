"""Names of the bundled defaults, importable without torch (the CLI's argument parsers use them)."""

#: The bundled generator every command, spec, demo and benchmark uses unless told otherwise
#: (a name of :data:`aufx.gan.loaders.BUNDLED_MODELS`).
DEFAULT_MODEL = "synthfacs128"
