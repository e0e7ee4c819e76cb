// A fault-injecting TCP proxy for PostgreSQL (or any TCP service), built on node:net alone, so that the
// chaos script (bench/chaos.js) and the e2e tests can make the database vanish (reset) or go silent
// (freeze) under a running service, then come back (heal), without touching PostgreSQL itself.
//
//   const proxy = await startFaultProxy({ upstreamPort: 5432 });
//   const databaseUrl = proxy.url(process.env.DATABASE_URL); // same credentials, host 127.0.0.1:proxy.port
//   proxy.reset();  // every open connection is cut (RST), and new ones are cut on arrival, until heal()
//   proxy.freeze(); // connections stay open (new ones too) but no byte moves either way, until heal()
//   proxy.heal();   // back to normal; see heal() for what happens to the connections frozen meanwhile
//   await proxy.close();
'use strict';
const net = require('node:net');

const PROXY_HOST = '127.0.0.1';

/**
 * @param {{ upstreamHost?: string, upstreamPort?: number }} [options]
 * @returns {Promise<import('./fault-proxy').FaultProxy>}
 */
async function startFaultProxy({ upstreamHost = '127.0.0.1', upstreamPort = 5432 } = {}) {
  /** @type {'normal' | 'reset' | 'frozen'} */
  let mode = 'normal';
  let closed = false;
  /** One entry per accepted client connection: { client, upstream (null until dialled), frozen }. */
  const pairs = new Set();

  // A fault makes sockets fail by design (ECONNRESET, EPIPE, ERR_SOCKET_CLOSED): an 'error' event
  // without a listener would crash the process that hosts the proxy, so every socket gets this one.
  const ignoreError = () => {};

  // RST rather than FIN: the client sees "connection reset", which is what a database that crashed or a
  // network that dropped the flow looks like. resetAndDestroy() throws on a socket already closed.
  const cut = (socket) => {
    if (!socket || socket.destroyed) return;
    try {
      socket.resetAndDestroy();
    } catch {
      socket.destroy();
    }
  };

  const cutPair = (pair) => {
    pairs.delete(pair);
    cut(pair.client);
    cut(pair.upstream);
  };

  // Forwarding by hand instead of pipe(): pipe() resumes a source on its destination's 'drain', which
  // would undo a freeze. Backpressure is kept: a full destination pauses its source until it drains.
  const forward = (from, to) => {
    from.on('data', (chunk) => {
      // A chunk read just before a freeze is dropped, not buffered: frozen means nothing gets through.
      if (mode !== 'normal' || to.destroyed) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (mode === 'normal' && !from.destroyed) from.resume();
        });
      }
    });
    // A clean close (FIN) is passed on as one, after the bytes already written: PostgreSQL's Terminate
    // message or its last ErrorResponse must not be cut off.
    from.on('end', () => to.end());
    from.on('close', (hadError) => {
      if (hadError) to.destroy();
      else to.end();
    });
  };

  const dial = (pair) => {
    const upstream = net.connect({ host: upstreamHost, port: upstreamPort });
    upstream.on('error', ignoreError);
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    forward(pair.client, upstream);
    forward(upstream, pair.client);
    // Until the upstream side is dialled, the client was paused (pauseOnConnect): its first bytes wait
    // in the kernel, not in our memory.
    pair.client.resume();
  };

  // Paused sockets read nothing, so the peers' bytes stay in the kernel buffers and TCP flow control
  // stalls them: the connection is silent, not broken, like a network partition or a stopped server.
  const pause = (pair) => {
    pair.frozen = true;
    pair.client.pause();
    pair.upstream?.pause();
  };

  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    client.on('error', ignoreError);
    if (closed || mode === 'reset') {
      // Refused as fast as possible. A real refusal (closing the listener) could lose the port to
      // another process before heal(); an immediate RST looks the same to a database client.
      cut(client);
      return;
    }
    const pair = { client, upstream: null, frozen: false };
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    if (mode === 'frozen') {
      // Accepted (the kernel has completed the handshake anyway) but never answered: the client's
      // start-up message waits forever, as it would against a frozen server. Dialled on heal, if ever.
      pair.frozen = true;
      return;
    }
    dial(pair);
  });
  server.on('error', ignoreError);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, PROXY_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();

  return {
    port,

    url(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = PROXY_HOST;
      url.port = String(port);
      // libpq-style ?host=/?port= parameters would override the authority and bypass the proxy.
      url.searchParams.delete('host');
      url.searchParams.delete('port');
      return url.toString();
    },

    reset() {
      mode = 'reset';
      for (const pair of [...pairs]) cutPair(pair);
    },

    freeze() {
      mode = 'frozen';
      for (const pair of pairs) pause(pair);
    },

    heal({ resume = false } = {}) {
      mode = 'normal';
      for (const pair of [...pairs]) {
        if (!pair.frozen) continue;
        if (!resume) {
          // The default: a connection that was frozen is cut, so its owner sees it die (as it would
          // after a failover or a long partition, when TCP gives up) instead of carrying on a
          // conversation whose replies arrive seconds late. Connections opened after heal() pass.
          cutPair(pair);
          continue;
        }
        // resume: true — the partition ends and TCP delivers what was held back, late but intact.
        pair.frozen = false;
        if (pair.upstream === null) dial(pair);
        else {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },

    close() {
      closed = true;
      for (const pair of [...pairs]) cutPair(pair);
      return new Promise((resolve) => server.close(() => resolve()));
    },

    get connections() {
      return pairs.size;
    },

    get mode() {
      return mode;
    },
  };
}

module.exports = { startFaultProxy };
