package dev.sluice.model;

import org.apache.beam.sdk.transforms.windowing.PaneInfo;

/** When a window's result was emitted relative to the watermark: the contract's {@code pane}. */
public enum PaneTiming {
  /** Before the watermark passed the end of the window: speculative, will be updated. */
  EARLY,
  /** When the watermark passed the end of the window. */
  ON_TIME,
  /** After the watermark, for data that arrived late but within the allowed lateness. */
  LATE;

  /**
   * Maps Beam's pane timing. Beam reports {@code UNKNOWN} only for panes not produced by a windowed
   * GroupByKey; such a pane is treated as the on-time result.
   */
  public static PaneTiming of(PaneInfo pane) {
    switch (pane.getTiming()) {
      case EARLY:
        return EARLY;
      case LATE:
        return LATE;
      case ON_TIME:
      case UNKNOWN:
      default:
        return ON_TIME;
    }
  }
}
