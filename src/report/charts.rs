//! SVG charts of an experiment's results, drawn with plotters.
//!
//! plotters is built without font support: its SVG backend writes text as `<text>`
//! elements that the browser sets in its own sans-serif, so no font files are read and
//! none are embedded. Label widths are estimated, which is why labels are kept short.
//!
//! Which chart an experiment gets follows what its paper figure shows: times per
//! technique (count, io), a speedup curve against its bounds (pool), when things happened
//! (map, channel, select, sched), memory per unit (spawn), messages per second for
//! throughput runs, and times per row for anything else.

use crate::report::terminal::params_text;
use crate::report::trace::{Timeline, natural_cmp, timelines};
use crate::results::{ExperimentResult, Params, Row, Status};
use crate::units;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::ops::Range;

/// One chart: a caption for the page and a standalone SVG document.
#[derive(Clone, Debug)]
pub struct Chart {
    pub title: String,
    pub svg: String,
}

const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";
/// Rough width of a 12 px label character; plotters without fonts cannot measure text.
const CHAR_PX: u32 = 7;
const LONGEST_LABEL: usize = 44;

/// Tableau's ten colours: distinct in print and for the common colour blindnesses.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];
const GREY: RGBColor = RGBColor(175, 175, 175);

/// The colour of a language, the same in every chart so Rust, Python and Go can be
/// followed across the page.
fn language_color(language: &str, fallback: usize) -> RGBColor {
    match language {
        "rust" => RGBColor(183, 65, 14),
        "python" => RGBColor(53, 114, 165),
        "go" => RGBColor(0, 150, 190),
        _ => PALETTE[fallback % PALETTE.len()],
    }
}

/// A kind of chart an experiment's descriptor asks for. The kinds that read a row value
/// take the reader from the experiment, so this file never knows a row's field names.
#[derive(Clone, Copy)]
pub enum ChartKind {
    /// Median time per technique, one bar per language.
    Medians,
    /// When things happened, one timeline per row that has events.
    Timelines,
    /// A value per live unit (bytes), one bar per technique and language.
    PerUnit { value: fn(&Row) -> Option<f64> },
    /// Messages per second by shape and capacity.
    Throughput { value: fn(&Row) -> Option<f64> },
    /// Speedup against workers, with the ideal line and the bound the work allows.
    Speedup { bound_s: fn(&Row) -> Option<f64> },
}

/// The charts for one experiment, of the kinds its descriptor asks for; a chart that
/// cannot be drawn is an `Err` with why, so the page can say so in its place. Without a
/// descriptor, or when none of its charts has anything to draw, the median times.
pub fn charts(exp: &ExperimentResult, logical_cpus: usize) -> Vec<Result<Chart, String>> {
    let kinds =
        crate::experiments::info(&exp.experiment).map_or_else(Vec::new, |i| (i.charts)(exp));
    let mut drawn = Vec::new();
    for kind in kinds {
        match kind {
            ChartKind::Medians => drawn.extend(medians(exp)),
            ChartKind::Timelines => drawn.extend(
                timelines(exp)
                    .into_iter()
                    .map(|(row, t)| timeline(&exp.rows[row], &t)),
            ),
            ChartKind::PerUnit { value } => drawn.extend(per_unit(exp, value)),
            ChartKind::Throughput { value } => drawn.push(throughput(exp, value)),
            ChartKind::Speedup { bound_s } => drawn.extend(speedup(exp, logical_cpus, bound_s)),
        }
    }
    if drawn.is_empty() {
        drawn.extend(medians(exp));
    }
    drawn
}

/// Median time per technique, one bar per language: the shape of the paper's timing
/// figures, with the median's 95 % interval as an error bar where there is one.
/// `None` when no row has a median.
pub fn medians(exp: &ExperimentResult) -> Option<Result<Chart, String>> {
    let rows: Vec<&Row> = exp.rows.iter().filter(|r| r.status == Status::Ok).collect();
    let names = category_names(&rows);
    let mut bars = by_language(&rows, &names, |r| r.median_s);
    for (row, name) in rows.iter().zip(&names) {
        if let (Some(_), Some(ci)) = (row.median_s, row.median_ci_s) {
            bars.interval(name, &row.language, ci);
        }
    }
    (!bars.categories.is_empty()).then(|| {
        let log = spans_orders_of_magnitude(bars.values());
        let title = format!(
            "{}: median time (shorter is faster{})",
            exp.experiment,
            if log { ", log scale" } else { "" }
        );
        hbars(&title, "median time", &bars, units::secs, units::secs, log)
    })
}

/// Memory per live unit: threads against tasks (and goroutines, asyncio tasks).
fn per_unit(
    exp: &ExperimentResult,
    value: fn(&Row) -> Option<f64>,
) -> Option<Result<Chart, String>> {
    let rows: Vec<&Row> = exp.rows.iter().filter(|r| r.status == Status::Ok).collect();
    let names = category_names(&rows);
    let bars = by_language(&rows, &names, value);
    let log = spans_orders_of_magnitude(bars.values());
    (!bars.categories.is_empty()).then(|| {
        let title = format!(
            "{}: memory per live unit{}",
            exp.experiment,
            if log { " (log scale)" } else { "" }
        );
        let plain = |b: f64| units::grouped(b.round() as i64);
        hbars(
            &title,
            "bytes per unit",
            &bars,
            plain,
            |b| units::bytes(b as u64),
            log,
        )
    })
}

/// Messages per second by channel shape and capacity, one bar per technique.
fn throughput(exp: &ExperimentResult, value: fn(&Row) -> Option<f64>) -> Result<Chart, String> {
    let rows: Vec<&Row> = exp.rows.iter().collect();
    let varying = varying_keys(&rows, |_| true);
    let mut bars = Bars::default();
    for row in &rows {
        let category = params_text(&only(&row.params, &varying));
        let series = format!("{} ({})", row.technique, row.language);
        let v = value(row).filter(|_| row.status == Status::Ok);
        bars.set(&category, &series, None, v);
    }
    let log = spans_orders_of_magnitude(bars.values());
    let title = format!(
        "{}: messages per second (longer is faster{})",
        exp.experiment,
        if log { ", log scale" } else { "" }
    );
    let plain = |v: f64| units::grouped(v.round() as i64);
    hbars(&title, "messages per second", &bars, plain, plain, log)
}

/// Category names: the technique, plus whichever params tell apart its rows, so two
/// `threads` rows of io read as the two things they measured.
fn category_names(rows: &[&Row]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            let same = varying_keys(rows, |r| r.technique == row.technique);
            if same.is_empty() {
                row.technique.clone()
            } else {
                format!(
                    "{} · {}",
                    row.technique,
                    params_text(&only(&row.params, &same))
                )
            }
        })
        .collect()
}

/// Keys whose values differ among the rows `which` selects.
fn varying_keys(rows: &[&Row], which: impl Fn(&Row) -> bool) -> Vec<String> {
    let chosen: Vec<&&Row> = rows.iter().filter(|r| which(r)).collect();
    let keys: BTreeSet<&String> = chosen.iter().flat_map(|r| r.params.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            let values: BTreeSet<String> = chosen
                .iter()
                .map(|r| r.params.get(*k).unwrap_or(&Value::Null).to_string())
                .collect();
            values.len() > 1
        })
        .cloned()
        .collect()
}

fn only(params: &Params, keys: &[String]) -> Params {
    params
        .iter()
        .filter(|(k, _)| keys.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn short(text: &str) -> String {
    short_to(text, LONGEST_LABEL)
}

fn short_to(text: &str, longest: usize) -> String {
    if text.chars().count() <= longest {
        text.to_string()
    } else {
        let cut: String = text.chars().take(longest - 1).collect();
        format!("{cut}…")
    }
}

fn spans_orders_of_magnitude(values: impl Iterator<Item = f64>) -> bool {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    hi > 0.0 && hi / lo >= 100.0
}

fn by_language(rows: &[&Row], names: &[String], value: impl Fn(&Row) -> Option<f64>) -> Bars {
    let mut bars = Bars::default();
    for (row, name) in rows.iter().zip(names) {
        if let Some(v) = value(row) {
            let color = language_color(&row.language, bars.series.len());
            bars.set(name, &row.language, Some(color), Some(v));
        }
    }
    bars
}

/// Bars in categories, several series side by side within each.
#[derive(Default)]
struct Bars {
    /// Full names: two rows whose names differ only past the length a label is cut to
    /// must stay two categories.
    categories: Vec<String>,
    /// Name, colour, and one value per category.
    series: Vec<(String, RGBColor, Vec<Option<f64>>)>,
    /// Error bars by (series, category) index.
    intervals: BTreeMap<(usize, usize), [f64; 2]>,
}

impl Bars {
    fn set(&mut self, category: &str, series: &str, color: Option<RGBColor>, value: Option<f64>) {
        let c = match self.categories.iter().position(|x| x == category) {
            Some(c) => c,
            None => {
                self.categories.push(category.to_string());
                self.series.iter_mut().for_each(|s| s.2.push(None));
                self.categories.len() - 1
            }
        };
        let s = match self.series.iter().position(|s| s.0 == series) {
            Some(s) => s,
            None => {
                let color = color.unwrap_or(PALETTE[self.series.len() % PALETTE.len()]);
                self.series
                    .push((series.to_string(), color, vec![None; self.categories.len()]));
                self.series.len() - 1
            }
        };
        self.series[s].2[c] = value;
    }

    /// An error bar on the bar already set for `category` and `series`.
    fn interval(&mut self, category: &str, series: &str, ci: [f64; 2]) {
        let c = self.categories.iter().position(|x| x == category);
        let s = self.series.iter().position(|x| x.0 == series);
        if let (Some(c), Some(s)) = (c, s) {
            self.intervals.insert((s, c), ci);
        }
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.series
            .iter()
            .flat_map(|s| s.2.iter().flatten().copied())
    }
}

/// Categories down an axis, first at the top: band `i` covers `[n-i-1, n-i)` and its
/// label sits at the band's centre (plotters' own axes would put ticks at round numbers).
#[derive(Clone)]
struct Bands(usize);

impl Bands {
    fn band(&self, i: usize) -> (f64, f64) {
        let top = (self.0 - i) as f64;
        (top - 1.0, top)
    }

    fn index_at(&self, v: f64) -> Option<usize> {
        let from_top = self.0 as f64 - v;
        (from_top >= 0.0 && from_top < self.0 as f64).then_some(from_top as usize)
    }
}

impl Ranged for Bands {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let frac = v / self.0.max(1) as f64;
        (f64::from(limit.0) + f64::from(limit.1 - limit.0) * frac).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let step = self.0.div_ceil(hint.max_num_points().max(1)).max(1);
        (0..self.0).step_by(step).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.0 as f64
    }
}

fn err(e: impl Display) -> String {
    format!("could not draw the chart: {e}")
}

/// How a legend entry is drawn, matching what it explains.
#[derive(Clone, Copy)]
enum Swatch {
    Bar,
    Line,
    Dashed,
    Tick,
}

/// Legend entries in rows under the plot: inside it they would hide the data they
/// explain, wherever plotters placed them.
#[derive(Default)]
struct Legend(Vec<(String, RGBColor, Swatch)>);

impl Legend {
    const ROW_PX: u32 = 20;

    fn add(&mut self, label: impl Into<String>, color: RGBColor, swatch: Swatch) {
        self.0.push((label.into(), color, swatch));
    }

    /// Each entry's (x, row), wrapping at the chart's width.
    fn layout(&self) -> Vec<(i32, i32)> {
        let (mut x, mut row) = (16, 0);
        self.0
            .iter()
            .map(|(label, _, _)| {
                let w = 30 + label.chars().count() as i32 * CHAR_PX as i32;
                if x + w > WIDTH as i32 - 8 && x > 16 {
                    (x, row) = (16, row + 1);
                }
                let at = (x, row);
                x += w;
                at
            })
            .collect()
    }

    fn height(&self) -> u32 {
        match self.layout().last() {
            Some((_, rows)) => (*rows as u32 + 1) * Self::ROW_PX + 6,
            None => 0,
        }
    }

    fn draw(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
        let text = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        for ((label, color, swatch), (x, row)) in self.0.iter().zip(self.layout()) {
            let y = row * Self::ROW_PX as i32 + 10;
            let style = color.stroke_width(2);
            match swatch {
                Swatch::Bar => area.draw(&Rectangle::new(
                    [(x, y - 5), (x + 14, y + 5)],
                    color.filled(),
                )),
                Swatch::Line => area.draw(&PathElement::new(vec![(x, y), (x + 18, y)], style)),
                Swatch::Dashed => area
                    .draw(&PathElement::new(vec![(x, y), (x + 7, y)], style))
                    .and_then(|()| {
                        area.draw(&PathElement::new(vec![(x + 11, y), (x + 18, y)], style))
                    }),
                Swatch::Tick => area.draw(&PathElement::new(
                    vec![(x + 7, y - 6), (x + 7, y + 6)],
                    style,
                )),
            }
            .map_err(err)?;
            area.draw(&Text::new(label.as_str(), (x + 24, y), text.clone()))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Draws a chart of `height` plus its legend into a fresh SVG document: `plot` draws on
/// the upper area, the legend goes below it.
fn svg_chart(
    title: &str,
    height: u32,
    legend: &Legend,
    plot: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<Chart, String> {
    let mut svg = String::new();
    {
        let total = height + legend.height();
        let root = SVGBackend::with_string(&mut svg, (WIDTH, total)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (upper, lower) = root.split_vertically(height);
        plot(&upper)?;
        legend.draw(&lower)?;
        root.present().map_err(err)?;
    }
    Ok(Chart {
        title: title.to_string(),
        svg,
    })
}

/// Horizontal bars, so long category names read without rotation and the chart grows
/// downwards with the number of rows instead of squeezing them. `tick` labels the axis,
/// `value` the end of each bar. On a log axis the values are drawn as log10 on a linear
/// axis ticked at whole decades, which plotters' own log axis would tick unevenly.
fn hbars(
    title: &str,
    x_desc: &str,
    bars: &Bars,
    tick: impl Fn(f64) -> String,
    value: impl Fn(f64) -> String,
    log: bool,
) -> Result<Chart, String> {
    let n = bars.categories.len();
    let per_band = (bars.series.len() as u32 * 14).max(22);
    let height = 100 + n as u32 * per_band;
    let longest = bars
        .categories
        .iter()
        .map(|c| c.chars().count().min(LONGEST_LABEL) as u32)
        .max()
        .unwrap_or(4);
    let label_px = (longest * CHAR_PX + 16).min(WIDTH / 2);
    let tx = |v: f64| if log { v.log10() } else { v };
    let untx = |v: f64| if log { 10f64.powf(v) } else { v };
    let ends = bars.intervals.values().flat_map(|ci| ci.iter().copied());
    let positive = bars.values().chain(ends).filter(|v| *v > 0.0);
    let (lo, hi) = positive.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let hi = if hi > 0.0 { hi } else { 1.0 };
    // Room on the right for the value printed after the longest bar.
    let x_range = if log {
        lo.log10().floor()..(hi.log10() + 0.7)
    } else {
        0.0..hi * 1.25
    };
    let base = x_range.start;
    let decades = (x_range.end - x_range.start).ceil() as usize + 1;
    let bands = Bands(n);
    let mut legend = Legend::default();
    if bars.series.len() > 1 {
        for (name, color, _) in &bars.series {
            legend.add(name.as_str(), *color, Swatch::Bar);
        }
    }
    svg_chart(title, height, &legend, |area| {
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(label_px)
            .build_cartesian_2d(x_range, bands.clone())
            .map_err(err)?;
        let y_label = |v: &f64| {
            bands
                .index_at(*v)
                .map_or_else(String::new, |i| short(&bars.categories[i]))
        };
        let x_label = |v: &f64| {
            if *v == 0.0 && !log {
                "0".into()
            } else {
                tick(untx(*v))
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.disable_y_mesh()
            .max_light_lines(0)
            .y_labels(n)
            .y_label_formatter(&y_label)
            .x_label_formatter(&x_label)
            .x_desc(x_desc)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13));
        if log {
            mesh.x_labels(decades);
        }
        mesh.draw().map_err(err)?;
        let thickness = 0.8 / bars.series.len().max(1) as f64;
        let label_style =
            TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        for (s, (_, color, values)) in bars.series.iter().enumerate() {
            for (c, v) in values.iter().enumerate() {
                let Some(v) = *v else { continue };
                let (bottom, _) = bands.band(c);
                let y0 = bottom + 0.9 - thickness * (s as f64 + 1.0);
                let end = if v > 0.0 || !log { tx(v) } else { base };
                let bar =
                    Rectangle::new([(base, y0), (end, y0 + thickness * 0.92)], color.filled());
                let middle = y0 + thickness * 0.46;
                chart.draw_series([bar]).map_err(err)?;
                // The value goes after the error bar, where there is one, not over it.
                let mut text_at = end;
                if let Some(&[lo, hi]) = bars.intervals.get(&(s, c)) {
                    let at = |v: f64| if v > 0.0 || !log { tx(v) } else { base };
                    let (lo, hi) = (at(lo), at(hi));
                    let cap = thickness * 0.3;
                    chart
                        .draw_series(whisker(
                            [(lo, middle), (hi, middle)],
                            [(0.0, cap), (0.0, cap)],
                            WHISKER,
                        ))
                        .map_err(err)?;
                    text_at = text_at.max(hi);
                }
                let text = Text::new(
                    format!(" {}", value(v)),
                    (text_at, middle),
                    label_style.clone(),
                );
                chart.draw_series([text]).map_err(err)?;
            }
        }
        Ok(())
    })
}

/// Dark enough to read on any bar colour.
const WHISKER: RGBColor = RGBColor(40, 40, 40);

/// An error bar from `ends[0]` to `ends[1]`, with a cap at each end that reaches
/// `caps[i]` (x, y) either side of it, in data units.
fn whisker(
    ends: [(f64, f64); 2],
    caps: [(f64, f64); 2],
    color: RGBColor,
) -> impl IntoIterator<Item = PathElement<(f64, f64)>> {
    let style = color.stroke_width(1);
    let cap = |(x, y): (f64, f64), (dx, dy): (f64, f64)| {
        PathElement::new(vec![(x - dx, y - dy), (x + dx, y + dy)], style)
    };
    [
        PathElement::new(ends.to_vec(), style),
        cap(ends[0], caps[0]),
        cap(ends[1], caps[1]),
    ]
}

/// A named, coloured line of (x, y) points.
type Line = (String, RGBColor, Vec<(f64, f64)>);

/// The speedup axis: each language's rows are measured against that language's own
/// sequential run, so a Python curve is not read as Python against Rust.
pub const SPEEDUP_AXIS: &str = "speedup over the same language's sequential run";

/// Speedup against workers, one line per technique, language and job order, between the
/// two lines that bound it: the ideal min(workers, CPUs) and the speedup the pool's lower
/// bound allows (the baseline over max(total work / min(workers, CPUs), longest job)).
/// Points with a speedup interval get an error bar.
fn speedup(
    exp: &ExperimentResult,
    logical_cpus: usize,
    bound_s: fn(&Row) -> Option<f64>,
) -> Option<Result<Chart, String>> {
    let rows: Vec<&Row> = exp
        .rows
        .iter()
        .filter(|r| r.status == Status::Ok && r.technique != "sequential")
        .filter(|r| r.param_u64("workers").is_some() && r.speedup.is_some())
        .collect();
    let orders: BTreeSet<&str> = rows.iter().filter_map(|r| r.param_str("order")).collect();
    let mut lines: Vec<Line> = Vec::new();
    // (workers, interval, colour of its line)
    let mut intervals: Vec<(f64, [f64; 2], RGBColor)> = Vec::new();
    for row in &rows {
        let mut name = format!("{} ({})", row.technique, row.language);
        if orders.len() > 1 {
            name = format!("{name}, {}", row.param_str("order").unwrap_or("?"));
        }
        let point = (row.param_u64("workers")? as f64, row.speedup?);
        let color = match lines.iter_mut().find(|l| l.0 == name) {
            Some(line) => {
                line.2.push(point);
                line.1
            }
            None => {
                let color = PALETTE[lines.len() % PALETTE.len()];
                lines.push((name, color, vec![point]));
                color
            }
        };
        if let Some(ci) = row.speedup_ci {
            intervals.push((point.0, ci, color));
        }
    }
    lines
        .iter_mut()
        .for_each(|l| l.2.sort_by(|a, b| a.0.total_cmp(&b.0)));
    let workers: BTreeSet<u64> = rows.iter().filter_map(|r| r.param_u64("workers")).collect();
    let max_w = *workers.last()? as f64;
    let cpus = logical_cpus.max(1) as f64;
    let ideal: Vec<(f64, f64)> = workers
        .iter()
        .map(|&w| (w as f64, (w as f64).min(cpus)))
        .collect();
    // baseline / bound, from any row at each worker count (the bound does not depend on
    // the technique): speedup = baseline / median, so baseline = speedup × median.
    let bound: Vec<(f64, f64)> = workers
        .iter()
        .filter_map(|&w| {
            let r = rows
                .iter()
                .find(|r| r.param_u64("workers") == Some(w) && bound_s(r).is_some())?;
            Some((w as f64, r.speedup? * r.median_s? / bound_s(r)?))
        })
        .collect();
    let top = lines
        .iter()
        .flat_map(|l| l.2.iter().map(|p| p.1))
        .chain(ideal.iter().chain(&bound).map(|p| p.1))
        .chain(intervals.iter().map(|i| i.1[1]))
        .fold(1.0_f64, f64::max);
    let mut legend = Legend::default();
    legend.add(
        format!("ideal: min(workers, {logical_cpus} CPUs)"),
        GREY,
        Swatch::Dashed,
    );
    if !bound.is_empty() {
        legend.add("best the work allows", BLACK, Swatch::Dashed);
    }
    for (name, color, _) in &lines {
        legend.add(name.as_str(), *color, Swatch::Line);
    }
    let title = format!(
        "{}: speedup against workers ({logical_cpus} logical CPUs)",
        exp.experiment
    );
    Some(svg_chart(&title, 420, &legend, |area| {
        let mut chart = ChartBuilder::on(area)
            .caption(&title, (FONT, 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..max_w.max(2.0) * 1.03, 0.0..top * 1.1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .x_desc("workers")
            .y_desc(SPEEDUP_AXIS)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.1}×"))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(DashedLineSeries::new(
                ideal.clone(),
                10,
                5,
                GREY.stroke_width(5),
            ))
            .map_err(err)?;
        chart
            .draw_series(DashedLineSeries::new(
                bound.clone(),
                4,
                3,
                BLACK.stroke_width(1),
            ))
            .map_err(err)?;
        for (_, color, points) in &lines {
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(err)?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(err)?;
        }
        let cap = max_w.max(2.0) * 0.008;
        for &(x, [lo, hi], color) in &intervals {
            let ends = [(x, lo), (x, hi)];
            chart
                .draw_series(whisker(ends, [(cap, 0.0), (cap, 0.0)], color))
                .map_err(err)?;
        }
        Ok(())
    }))
}

/// When things happened in one row's run: a lane per worker, sender or unit, a bar from
/// each start to its end, a tick for each moment (a print, a receipt, a switch).
fn timeline(row: &Row, t: &Timeline) -> Result<Chart, String> {
    let mut title = format!("{} ({})", row.technique, row.language);
    if !row.params.is_empty() {
        title = format!("{title}: {}", params_text(&row.params));
    }
    let title = short_to(&title, 84);
    let n = t.lanes.len();
    let height = 100 + n as u32 * 30;
    let longest = t
        .lanes
        .iter()
        .map(|l| l.chars().count() as u32)
        .max()
        .unwrap_or(4);
    let label_px = (longest * CHAR_PX + 16).min(WIDTH / 3);
    let end = t.end_s();
    let end = if end > 0.0 { end * 1.04 } else { 1e-3 };
    let bands = Bands(n);
    // Sorted, so `task 1` and `receive` have the same colour in every row's chart.
    let mut span_labels = first_seen(t.spans.iter().map(|s| s.label));
    span_labels.sort_by(|a, b| natural_cmp(a, b));
    let mut kinds = first_seen(t.marks.iter().map(|m| m.kind));
    kinds.sort_unstable();
    let kind_color = |kind: &str| {
        PALETTE[(kinds.iter().position(|k| *k == kind).unwrap_or(0) + 2) % PALETTE.len()]
    };
    let mut legend = Legend::default();
    for kind in &kinds {
        legend.add(*kind, kind_color(kind), Swatch::Tick);
    }
    svg_chart(&title, height, &legend, |area| {
        let mut chart = ChartBuilder::on(area)
            .caption(&title, (FONT, 15))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(label_px)
            .build_cartesian_2d(0.0..end, bands.clone())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .max_light_lines(0)
            .y_labels(n)
            .y_label_formatter(&|v| {
                bands
                    .index_at(*v)
                    .map_or_else(String::new, |i| t.lanes[i].to_string())
            })
            .x_label_formatter(&|v| {
                if *v == 0.0 {
                    "0".into()
                } else {
                    units::secs(*v)
                }
            })
            .x_desc("time since the run started")
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        let (left_edge, right_edge) = (
            chart.backend_coord(&(0.0, 0.0)).0,
            chart.backend_coord(&(end, 0.0)).0,
        );
        let px = |x: f64| left_edge + (x / end * f64::from(right_edge - left_edge)).round() as i32;
        let min_width = end / f64::from((right_edge - left_edge).max(1)) * 2.0;
        let text = |size: u32, h: HPos, v: VPos| {
            TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v))
        };
        for s in &t.spans {
            let (bottom, _) = bands.band(s.lane);
            let i = span_labels.iter().position(|l| *l == s.label).unwrap_or(0);
            let color = PALETTE[i % PALETTE.len()];
            let x1 = s.end_s.max(s.start_s + min_width);
            let bar = Rectangle::new(
                [(s.start_s, bottom + 0.2), (x1, bottom + 0.8)],
                color.mix(0.85).filled(),
            );
            chart.draw_series([bar]).map_err(err)?;
            if px(x1) - px(s.start_s) > label_width(s.label) {
                let label = Text::new(
                    format!(" {}", s.label),
                    (s.start_s, bottom + 0.5),
                    text(11, HPos::Left, VPos::Center),
                );
                chart.draw_series([label]).map_err(err)?;
            }
        }
        // Tick labels only while there are few enough to read, and never on top of one
        // another: a label that would overlap the previous one on its lane is left out.
        let mut free_from = vec![i32::MIN; n];
        for m in &t.marks {
            let (bottom, _) = bands.band(m.lane);
            let tick = PathElement::new(
                vec![(m.t_s, bottom + 0.12), (m.t_s, bottom + 0.88)],
                kind_color(m.kind).stroke_width(2),
            );
            chart.draw_series([tick]).map_err(err)?;
            if t.marks.len() > 40 {
                continue;
            }
            let (x, w) = (px(m.t_s), label_width(m.label));
            let (from, anchor) = if x + w <= right_edge {
                (x, HPos::Left)
            } else {
                (x - w, HPos::Right)
            };
            if from < free_from[m.lane] {
                continue;
            }
            free_from[m.lane] = from + w;
            let label = Text::new(
                format!(" {} ", m.label),
                (m.t_s, bottom + 0.88),
                text(10, anchor, VPos::Top),
            );
            chart.draw_series([label]).map_err(err)?;
        }
        Ok(())
    })
}

/// Distinct items in the order they first appear.
fn first_seen<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for x in items {
        if !seen.contains(&x) {
            seen.push(x);
        }
    }
    seen
}

/// Estimated pixels of a small label: plotters cannot measure text without fonts.
fn label_width(label: &str) -> i32 {
    (label.chars().count() as i32 + 2) * 6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Event;

    fn row(technique: &str, language: &str, median: f64, params: Params) -> Row {
        let mut r = Row::new(language, technique, params).with_samples(vec![median]);
        r.validated = true;
        r
    }

    #[test]
    fn bands_put_the_first_category_on_top() {
        let b = Bands(3);
        assert_eq!(b.band(0), (2.0, 3.0));
        assert_eq!(b.index_at(2.5), Some(0));
        assert_eq!(b.index_at(0.5), Some(2));
        assert_eq!(b.index_at(3.5), None);
    }

    #[test]
    fn categories_name_only_the_params_that_differ() {
        let a = row(
            "threads",
            "rust",
            1.0,
            crate::params! {"how" => "per site", "sites" => 6},
        );
        let b = row(
            "threads",
            "rust",
            2.0,
            crate::params! {"how" => "pool", "sites" => 6},
        );
        let c = row("tokio", "rust", 1.0, crate::params! {"sites" => 6});
        let names = category_names(&[&a, &b, &c]);
        assert_eq!(
            names,
            ["threads · how=per site", "threads · how=pool", "tokio"]
        );
        // Names are cut only when drawn, so rows that differ late stay apart.
        let long = |interval: f64| {
            let p = crate::params! {"mode" => "sweep", "n" => 100_000_000, "switch_interval_s" => interval};
            row("gil-model", "rust", 1.0, p)
        };
        let (a, b) = (long(0.001), long(0.005));
        let c = row("gil-model", "rust", 1.0, crate::params! {"threads" => 2});
        let names = category_names(&[&a, &b, &c]);
        assert_ne!(names[0], names[1]);
        assert_eq!(short(&names[0]), short(&names[1]));
    }

    #[test]
    fn every_chart_kind_draws_text_without_fonts() {
        let mut exp = ExperimentResult::new("map", "Figure 5", Params::new());
        let ev = |t_s: f64, lane: &str, kind: &str, label: &str| Event {
            row: 0,
            t_s,
            lane: lane.into(),
            kind: kind.into(),
            label: label.into(),
        };
        exp.push(
            row(
                "pool-threads",
                "rust",
                0.5,
                crate::params! {"call" => "imap"},
            ),
            vec![
                ev(0.0, "w1", "start", "sleep(1)"),
                ev(0.1, "w1", "end", "sleep(1)"),
                ev(0.1, "caller", "receive", "<1>"),
            ],
        );
        let charts = charts(&exp, 2);
        assert_eq!(charts.len(), 1);
        let svg = &charts[0].as_ref().unwrap().svg;
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<text") && svg.contains("sleep(1)"));
        // Text from results is escaped by the backend.
        assert!(svg.contains("&lt;1&gt;") && !svg.contains("<1>"));
    }

    #[test]
    fn intervals_are_drawn_as_error_bars() {
        // Six runs give a median interval; one run does not.
        let runs = |m: f64| vec![m, m * 1.01, m * 0.99, m * 1.02, m * 0.98, m];
        let mut exp = ExperimentResult::new("count", "Figure 2", Params::new());
        let seq = Row::new("rust", "sequential", Params::new()).with_samples(runs(2.0));
        let threads = Row::new("rust", "threads", Params::new()).with_samples(runs(1.0));
        let once = row("rayon", "rust", 1.5, Params::new());
        for r in [seq, threads, once] {
            exp.push(r, Vec::new());
        }
        let whisker = format!(
            "stroke=\"#{:02X}{:02X}{:02X}\"",
            WHISKER.0, WHISKER.1, WHISKER.2
        );
        let svg = medians(&exp).unwrap().unwrap().svg;
        // A bar and two caps for each of the two rows with an interval.
        assert_eq!(svg.matches(&whisker).count(), 6, "{svg}");

        let mut exp = ExperimentResult::new("pool", "Figure 12", Params::new());
        for (w, speedup) in [(1, 1.0), (2, 1.8)] {
            let mut r = row("threads", "rust", 1.0, crate::params! {"workers" => w});
            r.speedup = Some(speedup);
            r.speedup_ci = (w == 2).then_some([1.6, 2.1]);
            exp.push(r, Vec::new());
        }
        let svg = speedup(&exp, 2, |r| {
            r.data::<crate::experiments::pool::PoolData>().bound_s
        })
        .unwrap()
        .unwrap()
        .svg;
        let c = PALETTE[0];
        let thin = format!(
            "stroke=\"#{:02X}{:02X}{:02X}\" stroke-width=\"1\"",
            c.0, c.1, c.2
        );
        assert_eq!(svg.matches(&thin).count(), 3, "{svg}");
    }

    #[test]
    fn spread_values_get_a_log_axis() {
        assert!(spans_orders_of_magnitude([100.0, 2e6].into_iter()));
        assert!(!spans_orders_of_magnitude([100.0, 900.0].into_iter()));
        assert!(!spans_orders_of_magnitude(std::iter::empty()));
    }
}
