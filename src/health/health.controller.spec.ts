import { ServiceUnavailableException } from '@nestjs/common';
import type { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { FakeClock } from '../../test/support/fake-clock';
import type { PrismaService } from '../database/prisma.service';
import { HealthController } from './health.controller';

describe('HealthController /health/ready', () => {
  function setup() {
    const database = { up: true, pings: 0 };
    const prisma = {
      ping: () => {
        database.pings += 1;
        return Promise.resolve(database.up);
      },
      canWrite: () => Promise.resolve(true),
    };
    const indicators = {
      check: () => ({
        up: () => ({ database: { status: 'up' } }),
        down: () => ({ database: { status: 'down' } }),
      }),
    };
    // Terminus's contract: a report when every indicator is up, a 503 exception with the report otherwise.
    const health = {
      check: async (checks: Array<() => Promise<Record<string, { status: string }>>>) => {
        const results = await Promise.all(checks.map((check) => check()));
        const report = { status: 'ok', details: Object.assign({}, ...results) };
        if (results.some((r) => Object.values(r).some((v) => v.status === 'down'))) {
          throw new ServiceUnavailableException({ ...report, status: 'error' });
        }
        return report;
      },
    };
    const clock = new FakeClock();
    const controller = new HealthController(
      health as unknown as HealthCheckService,
      indicators as unknown as HealthIndicatorService,
      prisma as unknown as PrismaService,
      clock,
    );
    const statuses: number[] = [];
    const reply = { status: (code: number) => statuses.push(code) } as unknown as FastifyReply;
    return { database, controller, clock, reply, statuses };
  }

  it('asks the database at most once a second, however many callers ask', async () => {
    const { database, controller, clock, reply } = setup();
    await Promise.all(Array.from({ length: 50 }, () => controller.ready(reply)));
    expect(database.pings).toBe(1);
    clock.advance(999);
    await controller.ready(reply);
    expect(database.pings).toBe(1);
    clock.advance(1);
    await controller.ready(reply);
    expect(database.pings).toBe(2);
  });

  it('answers 503 from a down check to every caller within the second, and 200 again after it', async () => {
    const { database, controller, clock, reply, statuses } = setup();
    database.up = false;
    await controller.ready(reply);
    await controller.ready(reply);
    expect(statuses).toEqual([503, 503]);
    expect(database.pings).toBe(1);
    database.up = true;
    clock.advance(1_000);
    await expect(controller.ready(reply)).resolves.toMatchObject({ status: 'ok' });
    expect(statuses).toEqual([503, 503]);
  });
});
