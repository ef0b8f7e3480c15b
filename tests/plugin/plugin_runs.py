"""What the plugin tests share (this folder is on sys.path through its conftest, as ``--import-mode=importlib``
does not put it there; the module's name is unique to the folder)."""

#: options that keep a pytester run of an energy benchmark short: two short windows, one quick round
FAST = [
    "--energy-windows",
    "2",
    "--energy-min-window-seconds",
    "0.01",
    "--benchmark-min-rounds",
    "1",
    "--benchmark-max-time",
    "0.01",
    "-p",
    "no:cacheprovider",
]
