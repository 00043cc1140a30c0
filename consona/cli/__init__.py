"""consona's command line (Typer). One module per command group; see main.py."""
