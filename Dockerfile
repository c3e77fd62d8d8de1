# One image for the bot, the worker and the console; docker-compose.yml picks the command per service.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run console:build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/console/build ./console/build
COPY . .
USER node
EXPOSE 3000 3100 9464
CMD ["node", "--import", "tsx", "bot/main.ts"]
