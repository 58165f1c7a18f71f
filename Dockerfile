# chatd image: a static binary on distroless, running as the non-root user
# 65532, data in the /data volume, listening on 0.0.0.0:8080.
#
#   docker build -t chatd .
#   docker run -d --name chatd -p 8080:8080 -v chatd-data:/data chatd
#
# deploy/dockerfile_test.go builds the binary with exactly the go build line
# below and checks that it is static and that its healthcheck works.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/chatd ./cmd/chatd
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/chatd /chatd
COPY --from=build --chown=65532:65532 /out/data /data
ENV CHATD_ADDR=0.0.0.0:8080 CHATD_DATA=/data
VOLUME /data
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/chatd", "healthcheck"]
ENTRYPOINT ["/chatd"]
