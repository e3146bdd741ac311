# Koto Portal container image.
#
# The image holds only the portal binary: templates, static files,
# translations and migrations are embedded in it. It has no PostgreSQL:
# DATABASE_URL is required, e.g.
#   docker run -e DATABASE_URL=postgres://user:pass@db:5432/portal -p 8080:8080 koto-portal
# Add --migrate to the command (serve --migrate) to apply migrations at start.
#
# Build: docker build --build-arg VERSION=$(git describe --always --dirty) -t koto-portal .

ARG GO_VERSION=1.27.3

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/portal ./cmd/portal

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portal /portal
ENV PORTAL_ADDR=:8080
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/portal"]
CMD ["serve"]
