"""Small forecasting presets shared by this folder's tests."""


def tiny_preset(name: str = "tiny", repeats: int = 1):
    """A preset that trains one small RNN for one epoch and fits one SARIMA order: the CLI and --resume tests."""
    from lstm_energy.forecast.search import Preset, SearchSpace
    from lstm_energy.forecast.train import TrainConfig

    return Preset(
        name=name,
        space=SearchSpace(families=("RNN",), hidden_sizes=(4,), windows=(12,)),
        strategy="grid",
        training=TrainConfig(epochs=1, batch_size=64),
        forecast_windows=2,
        forecast_min_window_seconds=0.002,
        sarima_orders=(((0, 1, 1), (0, 1, 1)),),
        repeats=repeats,
    )
