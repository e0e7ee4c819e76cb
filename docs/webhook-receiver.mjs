// A deposit service's endpoint for the funding-source events (Node 20+, `npm install standardwebhooks`).
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.WEBHOOK_SECRET); // this receiver's whsec_… (its entry in the service's)
const handled = new Set(); // delivery is at least once: the same webhook-id may come again

createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  let event;
  try {
    event = webhook.verify(body, req.headers); // the signature, and a timestamp within 5 minutes
  } catch {
    return res.writeHead(400).end();
  }
  if (!handled.has(req.headers['webhook-id'])) {
    handled.add(req.headers['webhook-id']);
    console.log(event.type, event.data.id, event.data.status); // stop or resume transfers here
  }
  res.writeHead(204).end(); // any 2xx; anything else (or no answer in 10 s) is retried
}).listen(Number(process.env.PORT ?? 4000));
