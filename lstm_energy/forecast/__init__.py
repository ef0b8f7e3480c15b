"""The energy–accuracy forecasting study: recurrent forecasters trained on our kernels, priced in joules.

One job per module:

- ``data``      the shipped real series (Mauna Loa CO2, monthly), scaling fitted on the training split
                only, sliding windows, the time-ordered train / validation / test split;
- ``model``     a recurrent layer (``lstm_energy.layers``) plus the final linear layer, MSE loss and
                the analytic gradient of both (no autograd library);
- ``optim``     Adam and gradient-norm clipping;
- ``train``     the deterministic mini-batch loop;
- ``baselines`` naive last-value and seasonal-naive forecasts;
- ``classical`` SARIMA (order by AIC on the training split) and additive Holt-Winters, fitted, scored and
                priced with the same meter and protocol;
- ``energy``    joules of a whole training run (meter windows plus an idle baseline of equal length)
                and per forecast (``lstm_energy.measure.measure`` on the prepared predict call);
- ``search``    the hyperparameter search (grid or random) over cell, hidden size, window, layers; the
                seeded repeats of each family's choice; each choice forecasting in fp32, bf16 and int8
                (issue 18); the classical models beside them;
- ``tuning``    bayes (Optuna TPE) and pareto (Optuna multi-objective) search, the ``[forecast]`` extra;
- ``report``    the self-contained HTML page;
- ``records``   one results record per trial, classical model and baseline (JSON Lines,
                ``lstm_energy.results``), appended as trials finish; read back for ``--resume``.

Entry point: ``lstm-energy forecast`` (``lstm_energy/cli/forecast_cmd.py``).
"""
