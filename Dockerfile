FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY cli ./cli
COPY receiver ./receiver
COPY consumers ./consumers
RUN pip install --no-cache-dir '.[server,postgres]'
USER nobody
ENTRYPOINT []
CMD ["crossdock", "--help"]
