import { createElement } from "react";
import { PassThrough } from "node:stream";
import { render, renderToString, type Instance } from "ink";
import { LiveView, RunSummary } from "./live-view.js";
import type { Screen } from "./live-sink.js";

/**
 * Ink on `stream`, drawing in place. Loaded only when the live view is wanted: ink and its layout
 * engine take about half a second to import, which no pipe or cron job should pay.
 *
 * Ink gets a stdin of its own that is never read: the keyboard stays in cooked mode, so Ctrl-C
 * remains SIGINT for the command's own handler (finish what is in flight, save the state, exit
 * 130). If the process exits without close() (a second Ctrl-C), ink's exit hook still draws the
 * last frame and shows the cursor.
 */
export function inkScreen(stream: NodeJS.WriteStream, color: boolean, onRender?: () => void): Screen {
  let instance: Instance | undefined;
  return {
    draw(frame) {
      const node = createElement(LiveView, { frame, color });
      if (instance) {
        instance.rerender(node);
        return;
      }
      instance = render(node, {
        stdout: stream,
        stderr: stream,
        stdin: new PassThrough(),
        exitOnCtrlC: false,
        patchConsole: false,
        // The caller decided this is a terminal (wantsLiveView); ink's own guess must not differ.
        interactive: true,
        ...(onRender ? { onRender } : {}),
      });
    },
    close() {
      instance?.unmount();
      instance = undefined;
    },
    summaryText(summary) {
      return renderToString(createElement(RunSummary, { summary, color }), { columns: stream.columns || 80 });
    },
  };
}
