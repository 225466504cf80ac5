# The action server and the web app (Python 3.11), one image with two commands. Build from the
# repository root after `make setup`, which exports the MiniLM encoder to var/encoder, trains the
# sentiment head into var/sentiment and copies the front-end libraries into static/vendor:
#   docker build -f deploy/app.Dockerfile -t supportbot-app .
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY constraints/app.txt constraints/app.txt
COPY common common
COPY supportbot supportbot
COPY actions actions
RUN pip install --no-cache-dir -c constraints/app.txt -e '.[app]'
COPY data/kb data/kb
# The data dir also caches the knowledge base's index: writable by the user the server runs as.
COPY --chown=nobody var/encoder var/encoder
COPY --chown=nobody var/sentiment var/sentiment
RUN chown nobody var
ENV HF_HUB_OFFLINE=1 \
    SUPPORTBOT_DATA_DIR=/app/var \
    SUPPORTBOT_WEB_HOST=0.0.0.0
USER nobody
EXPOSE 5055 8000
# The action server (rasa-sdk behind the shared secret); the web app's command is
# `supportbot web`. It listens on the container's network (SUPPORTBOT_ACTION_HOST in the
# deployment's environment), never published to the host. Both run under the redacting runner:
# personal data in anything they print is masked before it reaches the container's log.
CMD ["python", "-m", "supportbot.privacy.log_redaction", "--", \
     "python", "-m", "actions.server", "--port", "5055"]
