# One image for the bot, the worker and the console; docker-compose.yml picks the command per service.
# Node 24 LTS (decision 047). `npm install` with the committed lock, as .ci/run does: npm 11 refuses this
# lock in `npm ci` (decision 004) although `npm install` installs exactly the locked versions.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall patches Agenda (decision 115).
COPY scripts/patch-agenda.mjs scripts/
RUN npm install --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run console:build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
# NODE_HEAP_FLAGS of ecosystem.config.js (decision 113).
ENV NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/console/build ./console/build
COPY . .
USER node
EXPOSE 3000 3100 9464
CMD ["node", "--import", "tsx", "bot/main.ts"]
