"""The energy–accuracy forecasting study: recurrent forecasters trained on our kernels, priced in joules.

One job per module:

- ``data``      the shipped real series (Mauna Loa CO2, monthly), scaling fitted on the training split
                only, sliding windows, the time-ordered train / validation / test split;
- ``model``     a recurrent layer (``lstm_energy.layers``) plus the final linear layer, MSE loss and
                the analytic gradient of both (no autograd library);
- ``optim``     Adam and gradient-norm clipping;
- ``train``     the deterministic mini-batch loop;
- ``baselines`` naive last-value and seasonal-naive forecasts;
- ``energy``    joules of a whole training run (meter windows plus an idle baseline of equal length)
                and per forecast (``lstm_energy.measure.measure`` on the prepared predict call);
- ``search``    the hyperparameter search (grid or random) over cell, hidden size, window, layers;
- ``report``    the self-contained HTML page;
- ``records``   one results record per trial and baseline (JSON Lines, ``lstm_energy.results``).

Entry point: ``lstm-energy forecast`` (``lstm_energy/cli/forecast_cmd.py``).
"""
