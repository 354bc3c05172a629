# crossdock's image: the receiver (`crossdock receiver`) and consumers
# (`crossdock consumer`) run from it; docker-compose.yml shows both.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY cli ./cli
COPY receiver ./receiver
COPY consumers ./consumers
COPY config ./config
RUN pip install --no-cache-dir '.[server,postgres]' \
    && useradd --system --uid 10001 crossdock
USER crossdock
EXPOSE 8080 9102
CMD ["crossdock", "--help"]
