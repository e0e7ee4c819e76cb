# syntax=docker/dockerfile:1
# Build: install (postinstall runs `prisma generate`), compile to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY prisma ./prisma
COPY prisma.config.ts tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src/database/pg-pool.ts ./src/database/pg-pool.ts
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN npm run build

# Run: the compiled service, plus the Prisma CLI and its config so `npm run db:migrate` works in the image.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/prisma.config.ts /app/tsconfig.json ./
COPY --from=build /app/src/database/pg-pool.ts ./src/database/pg-pool.ts
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:3000/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# A 4 MB young generation (V8 defaults to 16 MB): about 20 MB less resident memory, no measured cost in
# throughput (`npm run bench`). Keep in step with `npm run start:prod`.
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
