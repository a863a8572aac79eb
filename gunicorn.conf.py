"""gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app``.

The access log never shows voting codes (see voting/logging.py).
"""

from voting.logging import install_log_redaction

bind = "127.0.0.1:8000"
workers = 4
accesslog = "-"


def post_worker_init(worker):
    install_log_redaction()


def on_starting(server):
    install_log_redaction()
