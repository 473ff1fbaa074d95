"""WSGI entry for gunicorn: the app is configured by the environment (see study_server.config).

    AUFX_STUDY_DIR=study AUFX_DB_URL=postgresql://... AUFX_PRODUCTION=1 \
    AUFX_ADMIN_PASSWORD_HASH='scrypt:...' gunicorn -w 4 -k gthread --threads 8 study_server.wsgi:app
"""

from study_server.app import create_app

app = create_app()
