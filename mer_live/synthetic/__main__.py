"""`python -m mer_live.synthetic` runs `mer-synth`."""
import sys

from mer_live.synthetic.cli import main

sys.exit(main())
