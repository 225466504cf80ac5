# The Rasa server (Python 3.10: Rasa 3.6.21 needs Python < 3.11). Build from the repository root
# after `make train`, which leaves the model this image serves in models/:
#   docker build -f deploy/rasa.Dockerfile -t supportbot-rasa .
FROM python:3.10-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY constraints/rasa.txt constraints/rasa.txt
COPY common common
COPY assistant assistant
RUN pip install --no-cache-dir -c constraints/rasa.txt -e '.[rasa]'
COPY config.yml domain.yml endpoints.yml credentials.yml ./
COPY models/supportbot.tar.gz models/supportbot.tar.gz
# The NLU pipeline's MiniLM encoder, exported at `make setup` (SUPPORTBOT_ENCODER_DIR).
COPY var/encoder var/encoder
ENV RASA_TELEMETRY_ENABLED=false
USER nobody
EXPOSE 5005
# assistant.server is `rasa run` with the project's fixes; it reads the API token from
# SUPPORTBOT_RASA_TOKEN, so the token is on no command line.
CMD ["python", "-m", "assistant.server", "run", "--enable-api", "--interface", "0.0.0.0", \
     "--port", "5005", "--model", "models/supportbot.tar.gz", "--endpoints", "endpoints.yml", \
     "--credentials", "credentials.yml"]
