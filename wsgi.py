"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from slippers import create_app

app = create_app()
