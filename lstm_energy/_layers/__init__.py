"""Private building blocks of ``lstm_energy.layers`` (engine choice, checks, parameters, buffers)."""
