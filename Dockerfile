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
# The default store (no CROSSDOCK_DATABASE_URL) is crossdock.db in crossdock's data
# directory, $XDG_DATA_HOME/crossdock: here /var/lib/crossdock, owned by the non-root
# user. Mount a volume there to keep it: -v crossdock-data:/var/lib/crossdock
ENV XDG_DATA_HOME=/var/lib
RUN pip install --no-cache-dir '.[server,postgres]' \
    && useradd --system --uid 10001 --home-dir /var/lib/crossdock crossdock \
    && install -d -o crossdock -g crossdock -m 0700 /var/lib/crossdock
USER crossdock
EXPOSE 8080 9102
CMD ["crossdock", "--help"]
