"""Command line: ``shuzhi``. Each concern adds its own sub-command module here."""
