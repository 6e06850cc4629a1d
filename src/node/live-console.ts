/**
 * Starts the live console (src/console/) of a node that runs the consumer stage, when the site
 * configuration gives `console.port`.
 *
 * A console that cannot listen (the port is taken, say by a second `npm start`) is logged as an
 * error and left out: it is a view of the pipeline, and the pipeline runs the same without it.
 * Anything else that fails is thrown, as for the other consumers.
 */
import type { MessageBus } from '../bus/bus.js';
import type { TopicNames } from '../bus/topics.js';
import type { SiteConfig } from '../config/site-config.js';
import { LiveConsole } from '../console/live-console.js';
import { errorMessage, isPanoptesError } from '../errors.js';
import type { Logger } from '../log.js';

export async function startLiveConsole(
  config: SiteConfig,
  parts: { bus: MessageBus; topics: TopicNames; logger: Logger },
): Promise<LiveConsole | undefined> {
  const settings = config.console;
  if (settings?.port === undefined) return undefined;
  const { bus, topics, logger } = parts;
  try {
    const live = await LiveConsole.start({
      bus,
      topic: topics.processed(config.site),
      site: config.site,
      groupId: `${config.site}-console`,
      config: { ...settings, port: settings.port },
      fromBeginning: config.bus.type === 'memory',
      logger,
    });
    logger.info({ url: live.url }, `console: ${live.url}`);
    return live;
  } catch (e) {
    if (isPanoptesError(e) && e.code === 'SERVICE_START') {
      logger.error(
        { err: errorMessage(e), key: `${config.file}: console.port` },
        'console not started: the pipeline runs without it',
      );
      return undefined;
    }
    throw e;
  }
}
