"""The WSGI entry point (`gunicorn wsgi:app`); `flask …` run from the repository root finds
it too."""
from app import create_app

app = create_app()
