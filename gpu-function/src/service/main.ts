/**
 * Entry point of the gpu-function container (`npm start` locally). Configuration from the
 * environment (see config.ts); exits non-zero at once on bad configuration or missing models.
 * SIGTERM/SIGINT: stop taking work, refuse what waits, give what runs a grace (service.ts), exit 0.
 */
import { ConfigError, loadConfig } from './config';
import { startService } from './service';

try {
  const service = await startService(loadConfig());
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, 'draining');
    service.stop().then(
      () => process.exit(0),
      (err) => {
        service.logger.error({ err: (err as Error).message }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  console.error(err instanceof ConfigError ? `configuration: ${err.message}` : `start-up failed: ${(err as Error).name}: ${(err as Error).message}`);
  process.exit(1);
}
