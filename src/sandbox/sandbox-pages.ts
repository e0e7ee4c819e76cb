// The sandbox's pages (the demo page and the hosted link), plain files read once at boot and served with
// headers that keep them to themselves: no inline script, no framing, no Referer carrying a link token.
import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
} as const;

export const PAGE_FILES = ['demo.html', 'link.html', 'demo.js', 'link.js', 'sandbox.css'] as const;
export type PageFile = (typeof PAGE_FILES)[number];

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

@Injectable()
export class SandboxPages {
  private readonly files = new Map<PageFile, string>(
    PAGE_FILES.map((name) => [name, readFileSync(join(__dirname, 'public', name), 'utf8')]),
  );

  send(reply: FastifyReply, name: PageFile): FastifyReply {
    const extension = name.slice(name.lastIndexOf('.') + 1) as keyof typeof CONTENT_TYPES;
    return reply
      .status(200)
      .headers({ ...SECURITY_HEADERS, 'content-type': CONTENT_TYPES[extension] })
      .send(this.files.get(name));
  }
}
