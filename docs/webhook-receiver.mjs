// A deposit service's endpoint for the funding-source events (Node 20+, `npm install standardwebhooks`).
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.WEBHOOK_SECRET); // this receiver's whsec_… (its entry in the service's)
const latest = new Map(); // funding source id → the highest sequence handled (keep it in your database)

createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  let event;
  try {
    event = webhook.verify(body, req.headers); // the signature, and a timestamp within 5 minutes
  } catch {
    return res.writeHead(400).end();
  }
  // At least once, and a retry may come late: a sequence not above the last one handled is a repeat or stale.
  if (event.sequence > (latest.get(event.data.id) ?? 0)) {
    latest.set(event.data.id, event.sequence);
    console.log(event.type, event.data.id, event.data.status); // stop or resume transfers here
  }
  res.writeHead(204).end(); // any 2xx; anything else (or no answer in 10 s) is retried
}).listen(Number(process.env.PORT ?? 4000));
