// The stack floor: the least a service on this project's stack costs. NestJS on @nestjs/platform-fastify,
// one module, one controller with the list route (GET /v1/users/{userId}/funding-sources) and a readiness
// route, the same HS256 check as the service (lib/floor-common.js), and the read through the project's
// own generated Prisma client (dist/generated/prisma, built by `npm run build`) on its pg driver adapter,
// by the model API as the stack offers it. Nothing else: no validation pipes, no Swagger, no metrics, no
// logger. The service's memory and cold start are judged against this (`npm run bench`), since Prisma and
// NestJS stay in the process whatever the service does.
// Run by bench/run.js with PORT, DATABASE_URL, DATABASE_READ_POOL_SIZE and AUTH_JWT_SECRET.
// Plain JavaScript, so that no compiler's loader is in the process: the decorators are applied by hand.
'use strict';
require('reflect-metadata');
const path = require('node:path');
const {
  Controller,
  Get,
  Headers: RequestHeader,
  HttpCode,
  HttpException,
  Inject,
  Module,
  Param,
  Query,
} = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const { PrismaPg } = require('@prisma/adapter-pg');
const { Pool } = require('pg');
const { STATUSES, USER_ID, fundingSource, mayRead, tokenCheck } = require('./lib/floor-common');

const { PrismaClient } = require(path.join(__dirname, '..', 'dist', 'generated', 'prisma', 'client.js'));

const PRISMA = 'PRISMA';
const claims = tokenCheck(process.env.AUTH_JWT_SECRET);
const SELECT = {
  id: true,
  userId: true,
  status: true,
  institutionId: true,
  institutionName: true,
  name: true,
  type: true,
  subtype: true,
  mask: true,
  itemId: true,
  accountId: true,
  bluumFundingSourceId: true,
  transferBy: true,
  createdAt: true,
  updatedAt: true,
};

class FundingSourcesController {
  constructor(prisma) {
    this.prisma = prisma;
  }

  async list(userId, authorization, status) {
    const token = await claims(authorization);
    if (!token) throw new HttpException({ code: 'UNAUTHENTICATED' }, 401);
    if (!mayRead(token, userId)) throw new HttpException({ code: 'FORBIDDEN' }, 403);
    if (!USER_ID.test(userId)) throw new HttpException({ code: 'VALIDATION_FAILED' }, 400);
    const rows = await this.prisma.bankAccount.findMany({
      where: { userId, status: { in: STATUSES[status] ?? [status] } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: SELECT,
    });
    return { data: rows.map(fundingSource) };
  }

  // The service's readiness: the database answers and takes writes.
  async ready() {
    const [row] = await this.prisma.$queryRaw`SELECT current_setting('transaction_read_only') AS read_only`;
    if (row.read_only !== 'off') throw new HttpException({ status: 'error' }, 503);
    return { status: 'ok' };
  }
}
const proto = FundingSourcesController.prototype;
const method = (name, ...decorators) => {
  for (const decorate of decorators) decorate(proto, name, Object.getOwnPropertyDescriptor(proto, name));
};
method('list', Get('v1/users/:userId/funding-sources'));
Param('userId')(proto, 'list', 0);
RequestHeader('authorization')(proto, 'list', 1);
Query('status')(proto, 'list', 2);
method('ready', Get('health/ready'), HttpCode(200));
Inject(PRISMA)(FundingSourcesController, undefined, 0);
Controller()(FundingSourcesController);

class StackFloorModule {}
Module({
  controllers: [FundingSourcesController],
  providers: [
    {
      provide: PRISMA,
      // The read pool's size, as the service's reads get.
      useFactory: () =>
        new PrismaClient({
          adapter: new PrismaPg(
            new Pool({
              connectionString: process.env.DATABASE_URL,
              max: Number(process.env.DATABASE_READ_POOL_SIZE),
            }),
          ),
        }),
    },
  ],
})(StackFloorModule);

async function main() {
  const app = await NestFactory.create(StackFloorModule, new FastifyAdapter(), { logger: false });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
