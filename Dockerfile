# Multi-stage build: a static, cgo-free binary on a minimal image that has CA
# certificates (for Stripe's API) and time zone data.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /eventhive .

FROM gcr.io/distroless/static-debian12
COPY --from=build /eventhive /eventhive
ENV PORT=8080 DATABASE_URL=/data/eventhive.db
EXPOSE 8080
ENTRYPOINT ["/eventhive"]
