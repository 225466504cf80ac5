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
COPY deploy/rasa-serve deploy/rasa-serve
ENV RASA_TELEMETRY_ENABLED=false
USER nobody
EXPOSE 5005
CMD ["python", "deploy/rasa-serve"]
