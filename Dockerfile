# Tributary itself, for docker-compose.yml. Sources run through tsx: no build stage needed.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY runtime ./runtime
COPY processors ./processors
COPY producers ./producers
COPY sinks ./sinks
COPY schemas ./schemas
COPY topology.yaml tsconfig.json ./
USER node
EXPOSE 8080
ENTRYPOINT ["node", "bin/tributary.js"]
CMD ["up"]
