/** A webhook endpoint on loopback for tests: records every delivery (headers and raw body), answers 204. */
import { createServer } from 'node:http';

export interface Delivery {
  headers: Record<string, string>;
  body: string;
}

export async function startWebhookReceiver(path = '/hooks/facerecon'): Promise<{ url: string; deliveries: Delivery[]; close(): void }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      deliveries.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`, deliveries, close: () => server.close() };
}
