"""Training on our kernels: the loss falls, seeds make runs repeatable, and the trained model beats
the naive baseline on the shipped CO2 series."""

import numpy as np
import pytest

from lstm_energy.forecast.baselines import naive_last_value, seasonal_naive
from lstm_energy.forecast.data import load_co2_monthly, prepare, rmse
from lstm_energy.forecast.model import Forecaster, ModelConfig
from lstm_energy.forecast.train import TrainConfig, planned_batch_sizes, train


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_loss_decreases_on_a_learnable_series(cell, impl, synthetic_series):
    data = prepare(synthetic_series, window=12, difference=False)
    model = Forecaster(ModelConfig(cell, 8), seed=0, impl=impl)
    history = train(model, data.train.inputs, data.train.targets, TrainConfig(epochs=15, learning_rate=1e-2))
    assert history.epoch_losses[-1] < 0.2 * history.epoch_losses[0]
    assert history.steps == 15 * int(np.ceil(len(data.train) / 32))
    assert history.sequences == 15 * len(data.train)
    assert history.batch_sizes == planned_batch_sizes(len(data.train), TrainConfig(epochs=15))


def test_same_seed_same_run_other_seed_other_run(synthetic_series):
    data = prepare(synthetic_series, window=8)
    config = TrainConfig(epochs=3, seed=5)

    def run(seed):
        model = Forecaster(ModelConfig("gru", 6), seed=seed, impl="numpy")
        return train(model, data.train.inputs, data.train.targets, config).epoch_losses, model.predict(data.test.inputs)

    losses_a, preds_a = run(1)
    losses_b, preds_b = run(1)
    losses_c, _ = run(2)
    assert losses_a == losses_b
    np.testing.assert_array_equal(preds_a, preds_b)
    assert losses_a != losses_c


def test_trained_lstm_beats_both_baselines_on_co2(cython_engine):
    impl = cython_engine
    series = load_co2_monthly()
    data = prepare(series, window=24)
    model = Forecaster(ModelConfig("lstm", 16), seed=0, impl=impl)
    train(model, data.train.inputs, data.train.targets, TrainConfig(epochs=25, learning_rate=1e-2, seed=0))
    test = data.test
    model_rmse = rmse(data.to_original_units(model.predict(test.inputs), test), data.actual(test))
    naive = rmse(naive_last_value(series, test.target_index), data.actual(test))
    seasonal = rmse(seasonal_naive(series, test.target_index), data.actual(test))
    assert model_rmse < 0.6 * naive, (model_rmse, naive)
    assert model_rmse < seasonal
