"""Bayesian and multi-objective hyperparameter search with Optuna (the optional ``[forecast]`` extra).

- ``bayes``: per family, Optuna's TPE sampler (seeded: ``seed`` + the family's position) over hidden
  size, window length, layers, learning rate and epochs, minimising **validation** RMSE.
- ``pareto``: per family, a multi-objective study (TPE) minimising validation RMSE and the training
  run's dynamic joules; Optuna's Pareto-optimal trials (``study.best_trials``) are reported.

Trials are asked and told one at a time (``study.ask`` / ``study.tell``), so each is recorded as soon as
it finishes (the runner's ``on_trial`` hook appends it to the JSON Lines records). ``--resume`` replays:
the seeded sampler asks again, and a trial whose configuration and seed are in the records is taken
from them (its recorded objectives told again, exactly as JSON round-trips floats) instead of being
trained, so the replay asks the same next trials and continues where the search stopped. A seeded
``bayes`` search is reproducible (training is deterministic); a ``pareto`` search also reads joules,
so a fresh run repeats only as far as the meter does (a resumed one repeats exactly).
"""

from __future__ import annotations

from lstm_energy.errors import ConfigError
from lstm_energy.forecast.model import ModelConfig
from lstm_energy.forecast.train import TrainConfig

EXTRA_HINT = (
    "--search {strategy} needs Optuna, an optional dependency: pip install 'lstm_energy[forecast]' "
    "(or pip install optuna); --search grid and --search random work without it"
)


def require_optuna(strategy: str = "bayes"):
    """The optuna module, or ImportError naming the extra to install."""
    try:
        import optuna
    except ImportError as err:
        raise ImportError(EXTRA_HINT.format(strategy=strategy)) from err
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(preset) -> dict:
    """Parameter name -> Optuna distribution, from the preset's TuningSpace."""
    optuna = require_optuna()
    space = preset.tuning
    d = optuna.distributions
    return {
        "hidden_size": d.IntDistribution(*space.hidden_size, log=True),
        "window": d.CategoricalDistribution(space.windows),
        "num_layers": d.CategoricalDistribution(space.num_layers),
        "learning_rate": d.FloatDistribution(*space.learning_rate, log=True),
        "epochs": d.IntDistribution(*space.epochs),
    }


def candidate_from(family: str, params: dict, training: TrainConfig):
    """The search Candidate a trial's parameters describe."""
    from dataclasses import replace

    from lstm_energy.forecast.search import FAMILIES, Candidate

    cell, bidirectional = FAMILIES[family]
    model = ModelConfig(
        cell, int(params["hidden_size"]), num_layers=int(params["num_layers"]), bidirectional=bidirectional
    )
    train = replace(training, learning_rate=float(params["learning_rate"]), epochs=int(params["epochs"]))
    return Candidate(family, model, int(params["window"]), training=train)


def params_of(candidate) -> dict:
    """The inverse of ``candidate_from``: the Optuna parameters of a (resumed) trial."""
    return {
        "hidden_size": candidate.model.hidden_size,
        "window": candidate.window,
        "num_layers": candidate.model.num_layers,
        "learning_rate": candidate.training.learning_rate,
        "epochs": candidate.training.epochs,
    }


def objectives(strategy: str, trial) -> list[float]:
    if strategy == "bayes":
        return [trial.scores["validation"].rmse]
    return [trial.scores["validation"].rmse, trial.training_joules]


def optuna_search(strategy: str, preset, runner, *, seed: int, trials_per_family: int):
    """Run ``trials_per_family`` Optuna trials per family through ``runner(candidate, seed)``.

    Returns (every TrialResult in order, labels of the Pareto-optimal trials for "pareto", else []).
    """
    if strategy not in ("bayes", "pareto"):
        raise ConfigError(f"optuna_search runs 'bayes' or 'pareto'; got {strategy!r}")
    if trials_per_family < 1:
        raise ConfigError(f"trials per family must be >= 1; got {trials_per_family}")
    optuna = require_optuna(strategy)
    space = distributions(preset)
    directions = ["minimize"] if strategy == "bayes" else ["minimize", "minimize"]
    trials, front = [], []
    for position, family in enumerate(preset.space.families):
        sampler = optuna.samplers.TPESampler(seed=seed + position, n_startup_trials=min(3, trials_per_family))
        study = optuna.create_study(directions=directions, sampler=sampler)
        results = {}
        for _ in range(trials_per_family):
            asked = study.ask(space)
            result = runner(candidate_from(family, asked.params, preset.training), seed)
            study.tell(asked, objectives(strategy, result))
            results[asked.number] = result
            trials.append(result)
        if strategy == "pareto":
            front += [results[t.number].label for t in study.best_trials]
    return trials, front
