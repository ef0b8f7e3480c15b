from lstm_energy.cli import main

raise SystemExit(main())
