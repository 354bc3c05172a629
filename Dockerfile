# crossdock's image: the receiver (`crossdock receiver`, with the web console under
# /ui/) and consumers (`crossdock consumer`) run from it; docker-compose.yml shows both.
#
# The first stage builds crossdock's wheel; the image installs that wheel, not the
# work tree, so it holds exactly what the wheel ships (the console's templates and
# static files and the store's migrations are package data: pyproject.toml).
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY cli ./cli
COPY receiver ./receiver
COPY consumers ./consumers
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11-slim
WORKDIR /app
COPY config ./config
COPY --from=wheel /dist /dist
# The default store (no CROSSDOCK_DATABASE_URL) is crossdock.db in crossdock's data
# directory, $XDG_DATA_HOME/crossdock: here /var/lib/crossdock, owned by the non-root
# user. Mount a volume there to keep it: -v crossdock-data:/var/lib/crossdock
ENV XDG_DATA_HOME=/var/lib
RUN pip install --no-cache-dir "$(ls /dist/crossdock-*.whl)[server,postgres]" \
    && rm -rf /dist \
    && useradd --system --uid 10001 --home-dir /var/lib/crossdock crossdock \
    && install -d -o crossdock -g crossdock -m 0700 /var/lib/crossdock
USER crossdock
EXPOSE 8080 9102
CMD ["crossdock", "--help"]
