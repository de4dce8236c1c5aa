/**
 * A preset, or a config's effective mapping, written in the config file's own syntax, so that
 * `scimsync presets show` output can be pasted into a config and edited from there.
 */
import { Document, isMap, isSeq } from "yaml";
import type { Dialect, MappingEntry } from "../core/mapping.js";
import { targetKey, type EffectiveMapping } from "./effective-mapping.js";
import type { Config } from "./load-config.js";
import { PRESETS, type Preset, type PresetName, type ReadGroupMembers } from "./presets.js";

/** An entry as the config file writes it: a mapping, or the removal of a preset's target. */
export type ViewEntry = MappingEntry | { target: string; drop: true };

/** The settings a preset decides, as they appear under `target` and `mapping`. */
export interface MappingView {
  target: { preset: PresetName; dialect: Dialect; requireEmail: boolean; readGroupMembers: ReadGroupMembers };
  /** `group` is absent when the app has no groups. */
  mapping: { matching: EffectiveMapping["matching"]; user: ViewEntry[]; group?: ViewEntry[] };
}

export function presetView(preset: Preset): MappingView {
  return {
    target: { preset: preset.name, dialect: preset.dialect, requireEmail: preset.requireEmail, readGroupMembers: preset.readGroupMembers },
    mapping: {
      matching: [...preset.matching],
      user: preset.user.map(entryInConfigOrder),
      ...(preset.groups ? { group: preset.group.map(entryInConfigOrder) } : {}),
    },
  };
}

/**
 * A loaded config's settings and effective mapping. The preset's targets the config dropped are
 * listed as drops: pasted into a config, the view must not bring them back.
 */
export function configView(config: Config): MappingView {
  const { target, mapping } = config;
  const preset = PRESETS[target.preset];
  return {
    target: { preset: target.preset, dialect: target.dialect, requireEmail: target.requireEmail, readGroupMembers: target.readGroupMembers },
    mapping: {
      matching: [...mapping.matching],
      user: withDrops(mapping.user, preset.user),
      ...(target.groups ? { group: withDrops(mapping.group, preset.group) } : {}),
    },
  };
}

function withDrops(entries: readonly MappingEntry[], base: readonly MappingEntry[]): ViewEntry[] {
  const kept = new Set(entries.map((entry) => targetKey(entry.target)));
  const dropped = base.filter((entry) => !kept.has(targetKey(entry.target))).map((entry) => ({ target: entry.target, drop: true as const }));
  return [...entries.map(entryInConfigOrder), ...dropped];
}

/** Keys in the order config.example.yaml documents them, absent ones left out. */
function entryInConfigOrder(entry: MappingEntry): MappingEntry {
  const out: MappingEntry = { target: entry.target, source: entry.source };
  if (entry.default !== undefined) out.default = entry.default;
  if (entry.caseExact !== undefined) out.caseExact = entry.caseExact;
  if (entry.clearWhenEmpty !== undefined) out.clearWhenEmpty = entry.clearWhenEmpty;
  return out;
}

/** `header` lines become comments above the YAML. */
export function renderMappingYaml(view: MappingView, header: readonly string[]): string {
  const doc = new Document(view);
  // One line per entry reads like a table; block style would spread each over four lines.
  const mapping = doc.get("mapping");
  if (isMap(mapping)) {
    for (const pair of mapping.items) {
      if (!isSeq(pair.value)) continue;
      if (String(pair.key) === "matching") pair.value.flow = true;
      else for (const item of pair.value.items) if (isMap(item)) item.flow = true;
    }
  }
  const comments = header.flatMap((line) => (line === "" ? ["#"] : wrap(line, 96).map((part) => `# ${part}`)));
  return `${comments.join("\n")}\n${doc.toString({ lineWidth: 0 })}`;
}

/** The header of `scimsync presets show`: what the mapping is, and what to know about the app. */
export function presetHeader(preset: Preset, title = `Preset ${preset.name}: ${preset.summary}`): string[] {
  return [
    title,
    "",
    ...preset.notes.map((note) => `- ${note}`),
    "",
    "Merge these keys into your config file; target.url and target.token stay as they are. Entries you leave " +
      'unchanged can be deleted again: the preset provides them. See README "Attribute mappings and presets".',
  ];
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  // Continuation lines of a "- " item are indented under its text.
  const indent = text.startsWith("- ") ? "  " : "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}
