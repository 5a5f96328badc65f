"""The ``glassnet`` command: parse, call the library, print. No training logic here.

parser.py builds the command line and runs a subcommand; options.py holds the training options;
training.py, model_files.py and explaining.py the subcommands."""
from .parser import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
