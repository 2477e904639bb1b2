"""Command-line tools. Each subcommand imports only what it needs, so
``aigif-validate`` and ``aigif info`` start without torch or diffusers."""
