import { loadConfig } from "../../config/load-config.js";
import { configView, presetHeader, presetView, renderMappingYaml, type MappingView } from "../../config/preset-yaml.js";
import { describeUnknownPreset, isPresetName, PRESET_NAMES, PRESETS } from "../../config/presets.js";
import { ScimsyncError } from "../../errors.js";
import { EXIT } from "../exit-codes.js";
import { makeOutput, type OutputFormat } from "../output.js";
import { colorEnabled, makeStyle } from "../../ui/style.js";

export interface PresetsCommandOptions {
  output: Exclude<OutputFormat, "markdown">;
}

export interface PresetShowOptions extends PresetsCommandOptions {
  /** Show this config's effective mapping instead of a bare preset. */
  config?: string;
}

/** `scimsync presets`: the names and what each is for. */
export async function listPresetsCommand(options: PresetsCommandOptions): Promise<number> {
  const presets = PRESET_NAMES.map((name) => PRESETS[name]);
  if (options.output === "json") {
    const body = presets.map((p) => ({ name: p.name, summary: p.summary, groups: p.groups }));
    process.stdout.write(JSON.stringify({ presets: body }, null, 2) + "\n");
    return EXIT.ok;
  }
  const style = makeStyle(colorEnabled(process.stdout));
  const width = Math.max(...presets.map((p) => p.name.length));
  const lines = presets.map((p) => `${style("bold", p.name.padEnd(width))}  ${p.summary}`);
  process.stdout.write(`${lines.join("\n")}\n\nscimsync presets show NAME prints a preset's mapping in config file syntax.\n`);
  return EXIT.ok;
}

/** `scimsync presets show NAME` or `--config FILE`: a mapping ready to paste into a config. */
export async function showPresetCommand(name: string | undefined, options: PresetShowOptions): Promise<number> {
  if (name !== undefined && options.config !== undefined) {
    throw new ScimsyncError("give a preset name or --config, not both", {
      hint: "scimsync presets show NAME prints a preset; scimsync presets show --config FILE prints the mapping a config uses",
    });
  }
  let view: MappingView;
  let header: string[];
  let notes: string[];
  if (options.config !== undefined) {
    const { config, warnings } = await loadConfig(options.config);
    const out = makeOutput(options.output);
    for (const w of warnings) out.warn(w);
    view = configView(config);
    notes = PRESETS[config.target.preset].notes;
    header = presetHeader(
      PRESETS[config.target.preset],
      `The mapping ${options.config} uses: the ${config.target.preset} preset with the config's mapping entries applied.`,
    );
  } else {
    const wanted = (name ?? "").trim();
    if (!isPresetName(wanted)) {
      throw new ScimsyncError(name === undefined ? "name the preset to show" : describeUnknownPreset(wanted), {
        hint: `run scimsync presets to list them: ${PRESET_NAMES.join(", ")}`,
      });
    }
    const preset = PRESETS[wanted];
    view = presetView(preset);
    notes = preset.notes;
    header = presetHeader(preset);
  }
  if (options.output === "json") {
    process.stdout.write(JSON.stringify({ ...view, notes }, null, 2) + "\n");
  } else {
    process.stdout.write(renderMappingYaml(view, header));
  }
  return EXIT.ok;
}
