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
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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
/// Small multiples side by side get the page's full width, so each panel keeps room
/// for its lane names and the text stays the size of a single chart's.
const WIDE: u32 = 1040;
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
/// Python's other interpreters get Python's hues: purple for a free-threaded build,
/// paler with its GIL turned back on, a paler blue for another default build.
fn language_color(language: &str, fallback: usize) -> RGBColor {
    match language {
        "rust" => RGBColor(183, 65, 14),
        "python" => RGBColor(53, 114, 165),
        "go" => RGBColor(0, 150, 190),
        l if l.starts_with("python ") && l.ends_with("GIL=1") => RGBColor(176, 150, 200),
        l if l.starts_with("python ") && l.ends_with('t') => RGBColor(118, 72, 150),
        l if l.starts_with("python ") => RGBColor(125, 165, 205),
        _ => PALETTE[fallback % PALETTE.len()],
    }
}

/// A kind of chart an experiment's descriptor asks for. The kinds that read a row value
/// take the reader from the experiment, so this file never knows a row's field names.
#[derive(Clone, Copy)]
pub enum ChartKind {
    /// Median time per technique, one bar per language.
    Medians,
    /// When things happened: the rows that have events as timeline panels, a figure per
    /// value of the experiment's outer loop.
    Timelines,
    /// A value per live unit (bytes), one bar per technique and language.
    PerUnit { value: fn(&Row) -> Option<f64> },
    /// Messages per second by shape and capacity.
    Throughput { value: fn(&Row) -> Option<f64> },
    /// Speedup against workers, a panel per language, with the ideal line and the bound
    /// the work allows.
    Speedup { bound_s: fn(&Row) -> Option<f64> },
    /// With or without the GIL: per Python interpreter and GIL setting, the time on one
    /// thread and the speedup threads reach over it. `pairs` picks each column's two
    /// rows; drawn only when there is more than one Python column to compare.
    WithoutGil {
        pairs: fn(&ExperimentResult) -> Vec<GilPair<'_>>,
    },
    /// A line per technique and language of `y` against the numeric param `x_param`,
    /// both axes logarithmic: for values that span decades on both (sizes and times).
    LogLog {
        x_param: &'static str,
        x_desc: &'static str,
        y_desc: &'static str,
        y: fn(&Row) -> Option<f64>,
    },
}

/// One Python language column's rows for [`ChartKind::WithoutGil`]: its single-thread
/// row, and the threads row whose speedup (over that single-thread row) it shows.
pub struct GilPair<'a> {
    pub language: &'a str,
    pub single: Option<&'a Row>,
    pub threads: Option<&'a Row>,
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
            ChartKind::Timelines => drawn.extend(timeline_grids(exp)),
            ChartKind::PerUnit { value } => drawn.extend(per_unit(exp, value)),
            ChartKind::Throughput { value } => drawn.push(throughput(exp, value)),
            ChartKind::Speedup { bound_s } => drawn.extend(speedup(exp, logical_cpus, bound_s)),
            ChartKind::WithoutGil { pairs } => drawn.extend(without_gil(exp, pairs(exp))),
            ChartKind::LogLog {
                x_param,
                x_desc,
                y_desc,
                y,
            } => drawn.extend(log_log(exp, x_param, (x_desc, y_desc), y)),
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

/// The with-or-without-the-GIL pair of charts: one bar per Python column in each, the
/// single-thread median (a free-threaded build pays for its thread safety even alone)
/// and the threads speedup over it (which the GIL holds near 1). Nothing when fewer than
/// two columns have either: there is nothing to set side by side.
fn without_gil(exp: &ExperimentResult, pairs: Vec<GilPair<'_>>) -> Vec<Result<Chart, String>> {
    let mut single = Bars::default();
    let mut speedup = Bars::default();
    for p in &pairs {
        let color = Some(language_color(p.language, single.series.len()));
        if let Some(row) = p.single.filter(|r| r.status == Status::Ok) {
            single.set("one thread", p.language, color, row.median_s);
            if let Some(ci) = row.median_ci_s {
                single.interval("one thread", p.language, ci);
            }
        }
        if let Some(row) = p.threads.filter(|r| r.status == Status::Ok) {
            let category = match row.param_u64("workers") {
                Some(w) => format!("threads, {w} workers"),
                None => "threads".to_string(),
            };
            speedup.set(&category, p.language, color, row.speedup);
            if let Some(ci) = row.speedup_ci {
                speedup.interval(&category, p.language, ci);
            }
        }
    }
    let mut drawn = Vec::new();
    if single.series.len() >= 2 {
        let title = format!(
            "{}: with or without the GIL, time on one thread (shorter is faster)",
            exp.experiment
        );
        drawn.push(hbars(
            &title,
            "median time",
            &single,
            units::secs,
            units::secs,
            false,
        ));
    }
    if speedup.series.len() >= 2 {
        let title = format!(
            "{}: with or without the GIL, threads' speedup over one thread (longer is faster)",
            exp.experiment
        );
        let ratio = |v: f64| format!("{v:.2}×");
        drawn.push(hbars(&title, "speedup", &speedup, ratio, ratio, false));
    }
    drawn
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
            // A row may lack the keys that tell the others apart (a language that has
            // no such setting): then its technique alone names it.
            let telling = only(&row.params, &same);
            if telling.is_empty() {
                row.technique.clone()
            } else {
                format!("{} · {}", row.technique, params_text(&telling))
            }
        })
        .collect()
}

/// Keys whose values differ among the rows `which` selects.
fn varying_keys(rows: &[&Row], which: impl Fn(&Row) -> bool) -> Vec<String> {
    let chosen: Vec<&Row> = rows.iter().copied().filter(|r| which(r)).collect();
    super::varying_keys(&chosen)
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
    fn layout(&self, width: u32) -> Vec<(i32, i32)> {
        let (mut x, mut row) = (16, 0);
        self.0
            .iter()
            .map(|(label, _, _)| {
                let w = 30 + label.chars().count() as i32 * CHAR_PX as i32;
                if x + w > width as i32 - 8 && x > 16 {
                    (x, row) = (16, row + 1);
                }
                let at = (x, row);
                x += w;
                at
            })
            .collect()
    }

    fn height(&self, width: u32) -> u32 {
        match self.layout(width).last() {
            Some((_, rows)) => (*rows as u32 + 1) * Self::ROW_PX + 6,
            None => 0,
        }
    }

    fn draw(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
        let text = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        let width = area.dim_in_pixel().0;
        for ((label, color, swatch), (x, row)) in self.0.iter().zip(self.layout(width)) {
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

/// Draws a chart of `(width, height)` plus its legend into a fresh SVG document: `plot`
/// draws on the upper area, the legend goes below it.
fn svg_chart(
    title: &str,
    (width, height): (u32, u32),
    legend: &Legend,
    plot: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<Chart, String> {
    let mut svg = String::new();
    {
        let total = height + legend.height(width);
        let root = SVGBackend::with_string(&mut svg, (width, total)).into_drawing_area();
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

/// Lines of `y` against the param `x_param`, one per technique and language, on log10
/// axes drawn linear and ticked at whole decades (as `hbars` does its log axis). `None`
/// when no ok row has both values.
fn log_log(
    exp: &ExperimentResult,
    x_param: &str,
    (x_desc, y_desc): (&str, &str),
    y: fn(&Row) -> Option<f64>,
) -> Option<Result<Chart, String>> {
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for row in exp.rows.iter().filter(|r| r.status == Status::Ok) {
        let (Some(x), Some(v)) = (row.param_u64(x_param), y(row)) else {
            continue;
        };
        if x == 0 || v <= 0.0 {
            continue;
        }
        let name = format!("{} ({})", row.technique, row.language);
        let point = ((x as f64).log10(), v.log10());
        match lines.iter_mut().find(|l| l.0 == name) {
            Some(l) => l.1.push(point),
            None => lines.push((name, vec![point])),
        }
    }
    if lines.is_empty() {
        return None;
    }
    let all = || lines.iter().flat_map(|l| l.1.iter());
    let span = |f: fn(&(f64, f64)) -> f64| {
        let lo = all().map(f).fold(f64::INFINITY, f64::min).floor();
        let hi = all().map(f).fold(f64::NEG_INFINITY, f64::max).ceil();
        lo..hi.max(lo + 1.0)
    };
    let (xs, ys) = (span(|p| p.0), span(|p| p.1));
    let mut legend = Legend::default();
    for (i, (name, _)) in lines.iter().enumerate() {
        legend.add(name.clone(), PALETTE[i % PALETTE.len()], Swatch::Line);
    }
    let title = format!("{}: {y_desc} against {x_desc}, log-log", exp.experiment);
    let decade = |v: &f64| {
        let p = 10f64.powf(*v);
        if p >= 1.0 {
            units::grouped(p.round() as i64)
        } else {
            format!("{p}")
        }
    };
    Some(svg_chart(&title, (WIDTH, 420), &legend, |area| {
        let area = area.titled(&title, (FONT, 16)).map_err(err)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xs.clone(), ys.clone())
            .map_err(err)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .x_labels((xs.end - xs.start) as usize + 1)
            .y_labels((ys.end - ys.start) as usize + 1)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&decade)
            .y_label_formatter(&decade)
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(err)?;
        for (i, (_, points)) in lines.iter().enumerate() {
            let mut points = points.clone();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            line_with_dots(&mut chart, &points, PALETTE[i % PALETTE.len()])?;
        }
        Ok(())
    }))
}

/// A line through `points` with a dot at each, as the line charts draw their series.
fn line_with_dots(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    points: &[(f64, f64)],
    color: RGBColor,
) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(points.to_vec(), color.stroke_width(2)))
        .map_err(err)?;
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
        .map_err(err)?;
    Ok(())
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
    svg_chart(title, (WIDTH, height), &legend, |area| {
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

/// One language's panel of the speedup chart: its best line per job order, the ideal and
/// the bound, and the error bars.
struct SpeedupPanel {
    language: String,
    techniques: usize,
    lines: Vec<Line>,
    ideal: Vec<(f64, f64)>,
    bound: Vec<(f64, f64)>,
    /// (workers, interval, colour of its line)
    intervals: Vec<(f64, [f64; 2], RGBColor)>,
}

/// Speedup against workers, a panel per language side by side on the same axes, each
/// with the best technique for each job order (the one with the highest mean speedup
/// over the worker counts it ran), between the two lines that bound it: the ideal
/// min(workers, CPUs) and the speedup the pool's lower bound allows (the baseline over
/// max(total work / min(workers, CPUs), longest job)). Every technique in one plot is a
/// tangle of a dozen lines; the table below has them all. Points with a speedup
/// interval get an error bar.
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
    let orders = first_seen(rows.iter().map(|r| r.param_str("order").unwrap_or("")));
    let order_color =
        |order: &str| PALETTE[orders.iter().position(|o| *o == order).unwrap_or(0) % PALETTE.len()];
    let languages = first_seen(rows.iter().map(|r| r.language.as_str()));
    let cpus = logical_cpus.max(1) as f64;
    let mut panels = Vec::new();
    for language in &languages {
        let mine: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| r.language == *language)
            .collect();
        let techniques = first_seen(mine.iter().map(|r| r.technique.as_str()));
        let mut lines = Vec::new();
        let mut intervals = Vec::new();
        for order in &orders {
            let of = |t: &str| -> Vec<&Row> {
                mine.iter()
                    .copied()
                    .filter(|r| r.technique == t && r.param_str("order").unwrap_or("") == *order)
                    .collect()
            };
            let mean = |t: &&str| {
                let points = of(t);
                points.iter().filter_map(|r| r.speedup).sum::<f64>() / points.len().max(1) as f64
            };
            let Some(best) = techniques
                .iter()
                .filter(|t| !of(t).is_empty())
                .max_by(|a, b| mean(a).total_cmp(&mean(b)))
            else {
                continue;
            };
            let color = order_color(order);
            let mut points: Vec<(f64, f64)> = Vec::new();
            for r in of(best) {
                let point = (r.param_u64("workers")? as f64, r.speedup?);
                points.push(point);
                if let Some(ci) = r.speedup_ci {
                    intervals.push((point.0, ci, color));
                }
            }
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            lines.push((best.to_string(), color, points));
        }
        let workers: BTreeSet<u64> = mine.iter().filter_map(|r| r.param_u64("workers")).collect();
        let ideal = workers
            .iter()
            .map(|&w| (w as f64, (w as f64).min(cpus)))
            .collect();
        // baseline / bound, from any row at each worker count (the bound does not depend
        // on the technique): speedup = baseline / median, so baseline = speedup × median.
        let bound = workers
            .iter()
            .filter_map(|&w| {
                let r = mine
                    .iter()
                    .find(|r| r.param_u64("workers") == Some(w) && bound_s(r).is_some())?;
                Some((w as f64, r.speedup? * r.median_s? / bound_s(r)?))
            })
            .collect();
        panels.push(SpeedupPanel {
            language: language.to_string(),
            techniques: techniques.len(),
            lines,
            ideal,
            bound,
            intervals,
        });
    }
    let max_w = rows.iter().filter_map(|r| r.param_u64("workers")).max()? as f64;
    let top = panels
        .iter()
        .flat_map(|p| {
            let lines = p.lines.iter().flat_map(|l| l.2.iter().map(|pt| pt.1));
            let bounds = p.ideal.iter().chain(&p.bound).map(|pt| pt.1);
            lines
                .chain(bounds)
                .chain(p.intervals.iter().map(|i| i.1[1]))
        })
        .fold(1.0_f64, f64::max);
    let mut legend = Legend::default();
    legend.add(
        format!("ideal: min(workers, {logical_cpus} CPUs)"),
        GREY,
        Swatch::Dashed,
    );
    if panels.iter().any(|p| !p.bound.is_empty()) {
        legend.add("best the work allows", BLACK, Swatch::Dashed);
    }
    for order in orders.iter().filter(|o| !o.is_empty()) {
        legend.add(format!("{order} order"), order_color(order), Swatch::Line);
    }
    let title = format!(
        "{}: speedup against workers, best technique per language ({logical_cpus} logical CPUs)",
        exp.experiment
    );
    let cols = columns(panels.len());
    let grid_rows = panels.len().div_ceil(cols);
    let panel_h = if panels.len() == 1 { 400 } else { 320 };
    let height = 34 + grid_rows as u32 * panel_h;
    let width = if cols == 1 { WIDTH } else { WIDE };
    let x_end = max_w.max(2.0) * 1.2;
    Some(svg_chart(&title, (width, height), &legend, |area| {
        let area = area.titled(&title, (FONT, 16)).map_err(err)?;
        let cells = area.split_evenly((grid_rows, cols));
        for (panel, cell) in panels.iter().zip(&cells) {
            let caption = match panel.techniques {
                1 => panel.language.clone(),
                n => format!("{} (best of {n} techniques)", panel.language),
            };
            let mut chart = ChartBuilder::on(cell)
                .caption(
                    &caption,
                    (FONT, 14)
                        .into_font()
                        .color(&language_color(&panel.language, 0)),
                )
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(48)
                .build_cartesian_2d(0.0..x_end, 0.0..top * 1.1)
                .map_err(err)?;
            chart
                .configure_mesh()
                .max_light_lines(0)
                .x_desc("workers")
                .y_desc(SPEEDUP_AXIS)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.1}×"))
                .label_style((FONT, 11))
                .axis_desc_style((FONT, 12))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(DashedLineSeries::new(
                    panel.ideal.clone(),
                    10,
                    5,
                    GREY.stroke_width(5),
                ))
                .map_err(err)?;
            chart
                .draw_series(DashedLineSeries::new(
                    panel.bound.clone(),
                    4,
                    3,
                    BLACK.stroke_width(1),
                ))
                .map_err(err)?;
            for (_, color, points) in &panel.lines {
                line_with_dots(&mut chart, points, *color)?;
            }
            // Each line is named at its last point, in backend pixels made relative to
            // the panel; names that would overlap are pushed apart downwards, in the
            // order the lines end from top to bottom.
            let (base_x, base_y) = cell.get_base_pixel();
            let mut names: Vec<(i32, i32, &str, RGBColor)> = panel
                .lines
                .iter()
                .filter_map(|(name, color, points)| {
                    let (x, y) = chart.backend_coord(points.last()?);
                    Some((x - base_x, y - base_y, name.as_str(), *color))
                })
                .collect();
            names.sort_by_key(|n| n.1);
            let mut below = i32::MIN;
            for (x, y, name, color) in names {
                let y = y.max(below.saturating_add(13));
                below = y;
                let style = (FONT, 11)
                    .into_font()
                    .color(&color)
                    .pos(Pos::new(HPos::Left, VPos::Center));
                cell.draw(&Text::new(name, (x + 6, y), style))
                    .map_err(err)?;
            }
            let cap = x_end * 0.008;
            for &(x, [lo, hi], color) in &panel.intervals {
                let ends = [(x, lo), (x, hi)];
                chart
                    .draw_series(whisker(ends, [(cap, 0.0), (cap, 0.0)], color))
                    .map_err(err)?;
            }
        }
        Ok(())
    }))
}

/// What a row differs in from the others beside its language: its technique, or a param.
#[derive(Clone, Debug, PartialEq)]
enum Dim {
    Technique,
    Param(String),
}

impl Dim {
    fn value(&self, row: &Row) -> String {
        match self {
            Dim::Technique => row.technique.clone(),
            Dim::Param(key) => crate::report::param_value(row.params.get(key)),
        }
    }

    /// How a figure's title names one value of it: a technique by itself, a param with
    /// its name (`variant busy`).
    fn title(&self, value: &str) -> String {
        match self {
            Dim::Technique => value.to_string(),
            Dim::Param(key) => format!("{} {value}", key.replace('_', " ")),
        }
    }
}

/// The dimensions `rows` differ in: the technique, then each param that varies.
fn dims(rows: &[&Row]) -> Vec<Dim> {
    let mut dims = Vec::new();
    if first_seen(rows.iter().map(|r| r.technique.as_str())).len() > 1 {
        dims.push(Dim::Technique);
    }
    dims.extend(varying_keys(rows, |_| true).into_iter().map(Dim::Param));
    dims
}

/// The experiment's outer loop: the dimension whose value changes least often from one
/// row to the next of the same language (the technique on a tie). Its values are what
/// the experiment set side by side: `map` runs each pool through every call, `sched`
/// each variant on every technique. A dimension that varies only between languages
/// (a param one language's rows lack) is no loop of the experiment's.
fn outer_dim(rows: &[&Row], dims: &[Dim]) -> Option<Dim> {
    let loops = |dim: &Dim| {
        first_seen(rows.iter().map(|r| r.language.as_str()))
            .into_iter()
            .any(|language| {
                let values = rows.iter().filter(|r| r.language == language);
                first_seen_owned(values.map(|r| dim.value(r))).len() > 1
            })
    };
    let changes = |dim: &Dim| {
        let mut last: Vec<(&str, String)> = Vec::new();
        let mut changes = 0;
        for row in rows {
            let value = dim.value(row);
            match last.iter_mut().find(|(l, _)| *l == row.language) {
                Some((_, before)) => {
                    changes += usize::from(*before != value);
                    *before = value;
                }
                None => last.push((&row.language, value)),
            }
        }
        changes
    };
    dims.iter()
        .filter(|d| loops(d))
        .min_by_key(|d| changes(d))
        .cloned()
}

/// Timelines as small multiples: a figure per value of the experiment's outer loop (a
/// figure per pool of `map`, per variant of `sched`), its runs as panels on one time
/// axis, so they compare at a glance instead of one chart after another down the page.
/// Where every panel's label comes in every language, the panels form a grid, a column
/// per language; else they flow two to a row, each named in full.
fn timeline_grids(exp: &ExperimentResult) -> Vec<Result<Chart, String>> {
    let all = timelines(exp);
    let rows: Vec<&Row> = all.iter().map(|(i, _)| &exp.rows[*i]).collect();
    let dims = dims(&rows);
    let mut figures: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    let outer = outer_dim(&rows, &dims);
    for (i, row) in rows.iter().enumerate() {
        let value = outer.as_ref().map(|d| d.value(row));
        match figures.iter_mut().find(|(v, _)| *v == value) {
            Some((_, members)) => members.push(i),
            None => figures.push((value, vec![i])),
        }
    }
    // Figures of one panel each would be the separate charts again: then one figure.
    let outer = outer.filter(|_| figures.iter().any(|(_, m)| m.len() > 1));
    if outer.is_none() && figures.len() > 1 {
        figures = vec![(None, (0..rows.len()).collect())];
    }
    let inner: Vec<Dim> = dims
        .into_iter()
        .filter(|d| Some(d) != outer.as_ref())
        .collect();
    figures
        .into_iter()
        .map(|(value, members)| {
            let title = match (&outer, value) {
                (Some(dim), Some(value)) => format!("{}: {}", exp.experiment, dim.title(&value)),
                _ => format!("{}: when things happened", exp.experiment),
            };
            let panels: Vec<(&Row, &Timeline)> =
                members.iter().map(|&i| (rows[i], &all[i].1)).collect();
            timeline_grid(&title, &panels, &inner)
        })
        .collect()
}

/// Labels for panels: the values of the fewest dimensions that, with the language, tell
/// them apart (`imap`, not `imap · chunksize 1`), most varied dimension first.
fn panel_labels(panels: &[(&Row, &Timeline)], dims: &[Dim]) -> Vec<String> {
    let label = |row: &Row, chosen: &[&Dim]| -> String {
        chosen
            .iter()
            .map(|d| d.value(row))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let unique = |chosen: &[&Dim]| {
        let keys: BTreeSet<(String, String)> = panels
            .iter()
            .map(|(r, _)| (r.language.clone(), label(r, chosen)))
            .collect();
        keys.len() == panels.len()
    };
    let mut remaining: Vec<&Dim> = dims.iter().collect();
    let mut chosen: Vec<&Dim> = Vec::new();
    while !unique(&chosen) && !remaining.is_empty() {
        let distinct = |d: &Dim| first_seen_owned(panels.iter().map(|(r, _)| d.value(r))).len();
        let most = (0..remaining.len())
            .max_by_key(|&i| (distinct(remaining[i]), std::cmp::Reverse(i)))
            .expect("not empty");
        chosen.push(remaining.remove(most));
    }
    // Keep the dimensions in their own order, technique first.
    chosen.sort_by_key(|d| dims.iter().position(|x| x == *d));
    panels.iter().map(|(r, _)| label(r, &chosen)).collect()
}

/// One figure of timeline panels on a shared time axis, with one legend.
fn timeline_grid(title: &str, panels: &[(&Row, &Timeline)], dims: &[Dim]) -> Result<Chart, String> {
    let labels = panel_labels(panels, dims);
    let languages = first_seen(panels.iter().map(|(r, _)| r.language.as_str()));
    let row_labels = first_seen(labels.iter().map(String::as_str));
    // A grid when each label comes once in every language: a column per language.
    let grid = languages.len() > 1
        && row_labels.len() * languages.len() == panels.len()
        && row_labels.iter().all(|l| {
            languages.iter().all(|lang| {
                panels
                    .iter()
                    .zip(&labels)
                    .any(|((r, _), x)| x == l && r.language == *lang)
            })
        });
    let (cols, grid_rows) = if grid {
        (languages.len(), row_labels.len())
    } else {
        let cols = columns(panels.len());
        (cols, panels.len().div_ceil(cols))
    };
    let width = if cols == 1 { WIDTH } else { WIDE };
    // Where each panel goes, and its caption.
    let placed: Vec<(usize, String)> = panels
        .iter()
        .zip(&labels)
        .enumerate()
        .map(|(i, ((row, _), label))| {
            if grid {
                let r = row_labels.iter().position(|l| l == label).unwrap_or(0);
                let c = languages
                    .iter()
                    .position(|l| *l == row.language)
                    .unwrap_or(0);
                (r * cols + c, label.clone())
            } else {
                let caption = match (label.is_empty(), languages.len() > 1) {
                    (true, _) => format!("{} ({})", row.technique, row.language),
                    (false, true) => format!("{label} ({})", row.language),
                    (false, false) => label.clone(),
                };
                (i, caption)
            }
        })
        .collect();
    let end = panels.iter().map(|(_, t)| t.end_s()).fold(0.0, f64::max);
    let end = if end > 0.0 { end * 1.04 } else { 1e-3 };
    let mut span_labels = first_seen(
        panels
            .iter()
            .flat_map(|(_, t)| t.spans.iter().map(|s| s.label)),
    );
    span_labels.sort_by(|a, b| natural_cmp(a, b));
    let mut kinds = first_seen(
        panels
            .iter()
            .flat_map(|(_, t)| t.marks.iter().map(|m| m.kind)),
    );
    kinds.sort_unstable();
    let mut legend = Legend::default();
    if span_labels.len() <= 12 {
        for (i, label) in span_labels.iter().enumerate() {
            legend.add(*label, PALETTE[i % PALETTE.len()], Swatch::Bar);
        }
    }
    let style = PanelStyle {
        end,
        span_labels: &span_labels,
        kinds: &kinds,
        width: width / cols as u32,
    };
    for kind in &kinds {
        legend.add(*kind, style.kind_color(kind), Swatch::Tick);
    }
    let lanes = panels.iter().map(|(_, t)| t.lanes.len()).max().unwrap_or(1) as u32;
    let panel_h = 26 + 34 + lanes * 20 + 6;
    let header_h = if grid { 22 } else { 0 };
    let height = 34 + header_h + grid_rows as u32 * panel_h;
    svg_chart(title, (width, height), &legend, |area| {
        let area = area.titled(title, (FONT, 16)).map_err(err)?;
        let (header, body) = area.split_vertically(header_h);
        if grid {
            for (c, language) in languages.iter().enumerate() {
                let x = (c as u32 * style.width + style.width / 2) as i32;
                let text = (FONT, 14)
                    .into_font()
                    .color(&language_color(language, c))
                    .pos(Pos::new(HPos::Center, VPos::Center));
                header
                    .draw(&Text::new(*language, (x, 11), text))
                    .map_err(err)?;
            }
        }
        let cells = body.split_evenly((grid_rows, cols));
        for ((_, timeline), (at, caption)) in panels.iter().zip(&placed) {
            timeline_panel(&cells[*at], caption, timeline, &style)?;
        }
        Ok(())
    })
}

/// Panels to a row for `n` panels: all of up to three side by side, four as two by two,
/// more three to a row, so no row is left with a lone panel where it can be helped.
fn columns(n: usize) -> usize {
    match n {
        0..=3 => n.max(1),
        4 => 2,
        _ => 3,
    }
}

/// What the panels of one figure share: the time axis, and the colours of span labels
/// and mark kinds.
struct PanelStyle<'a> {
    end: f64,
    span_labels: &'a [&'a str],
    kinds: &'a [&'a str],
    /// A panel's width in pixels.
    width: u32,
}

impl PanelStyle<'_> {
    fn kind_color(&self, kind: &str) -> RGBColor {
        let i = self.kinds.iter().position(|k| *k == kind).unwrap_or(0);
        PALETTE[(i + 2) % PALETTE.len()]
    }
}

/// When things happened in one run: a lane per worker, sender or unit, a bar from each
/// start to its end, a tick for each moment (a print, a receipt, a switch).
fn timeline_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    caption: &str,
    t: &Timeline,
    style: &PanelStyle,
) -> Result<(), String> {
    let n = t.lanes.len().max(1);
    let longest = t
        .lanes
        .iter()
        .map(|l| l.chars().count() as u32)
        .max()
        .unwrap_or(4);
    let label_px = (longest * 6 + 14).min(style.width / 3);
    let end = style.end;
    let bands = Bands(n);
    let caption = short_to(caption, (style.width / 7) as usize);
    let mut chart = ChartBuilder::on(area)
        .caption(&caption, (FONT, 13))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(label_px)
        .build_cartesian_2d(0.0..end, bands.clone())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(0)
        .y_labels(n)
        .x_labels((style.width / 90).max(3) as usize)
        .y_label_formatter(&|v| {
            bands
                .index_at(*v)
                .and_then(|i| t.lanes.get(i))
                .map_or_else(String::new, |l| l.to_string())
        })
        .x_label_formatter(&|v| {
            if *v == 0.0 {
                "0".into()
            } else {
                units::secs(*v)
            }
        })
        .label_style((FONT, 11))
        .draw()
        .map_err(err)?;
    let (left_edge, right_edge) = (
        chart.backend_coord(&(0.0, 0.0)).0,
        chart.backend_coord(&(end, 0.0)).0,
    );
    let px = |x: f64| left_edge + (x / end * f64::from(right_edge - left_edge)).round() as i32;
    let min_width = end / f64::from((right_edge - left_edge).max(1)) * 2.0;
    let text =
        |size: u32, h: HPos, v: VPos| TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v));
    for s in &t.spans {
        let (bottom, _) = bands.band(s.lane);
        let i = style
            .span_labels
            .iter()
            .position(|l| *l == s.label)
            .unwrap_or(0);
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
                text(10, HPos::Left, VPos::Center),
            );
            chart.draw_series([label]).map_err(err)?;
        }
    }
    // Tick labels only while there are few enough to read for the panel's width, and
    // never on top of one another: a label that would overlap the previous one on its
    // lane is left out.
    let readable = (40 * style.width / WIDTH) as usize;
    let mut free_from = vec![i32::MIN; n];
    for m in &t.marks {
        let (bottom, _) = bands.band(m.lane);
        let tick = PathElement::new(
            vec![(m.t_s, bottom + 0.12), (m.t_s, bottom + 0.88)],
            style.kind_color(m.kind).stroke_width(2),
        );
        chart.draw_series([tick]).map_err(err)?;
        if t.marks.len() > readable {
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
}

/// Distinct owned items in the order they first appear.
fn first_seen_owned(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for x in items {
        if !seen.contains(&x) {
            seen.push(x);
        }
    }
    seen
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
        assert_eq!(names[2], "gil-model · threads=2");
        assert_eq!(short(&names[0]), short(&names[1]));
        // A row without the telling key is named by its technique, with no dangling dot.
        let lacking = row("sequential", "rust", 1.0, Params::new());
        let int = row(
            "sequential",
            "python",
            1.0,
            crate::params! {"chunk_type" => "int"},
        );
        let float = row(
            "sequential",
            "python",
            1.0,
            crate::params! {"chunk_type" => "float"},
        );
        let names = category_names(&[&lacking, &int, &float]);
        assert_eq!(
            names,
            [
                "sequential",
                "sequential · chunk_type=int",
                "sequential · chunk_type=float"
            ]
        );
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

    /// A row with a one-lane timeline: a job from 0 to `end` s.
    fn push_timed(exp: &mut ExperimentResult, row: Row, end: f64) {
        let ev = |t_s: f64, kind: &str| Event {
            row: 0,
            t_s,
            lane: "worker-1".into(),
            kind: kind.into(),
            label: "sleep".into(),
        };
        exp.push(row, vec![ev(0.0, "start"), ev(end, "end")]);
    }

    /// The `<text>` contents of an SVG.
    #[test]
    fn the_gil_charts_set_each_python_column_side_by_side() {
        let mut exp = ExperimentResult::new("count", "Figure 2", Params::new());
        let columns = [
            ("python", 0.8, 0.93),
            ("python 3.13t", 1.58, 1.89),
            ("python 3.13t GIL=1", 1.6, 0.95),
        ];
        for (lang, seq, speedup) in columns {
            exp.push(row("sequential", lang, seq, Params::new()), Vec::new());
            let mut t = row(
                "threads",
                lang,
                seq / speedup,
                crate::params! {"workers" => 5},
            );
            t.speedup = Some(speedup);
            exp.push(t, Vec::new());
        }
        fn pairs(e: &ExperimentResult) -> Vec<GilPair<'_>> {
            crate::peers::python_columns(&e.rows)
                .into_iter()
                .map(|language| GilPair {
                    language,
                    single: e.rows.iter().find(|r| r.language == language),
                    threads: e.rows.iter().rfind(|r| r.language == language),
                })
                .collect()
        }
        let drawn = without_gil(&exp, pairs(&exp));
        let titles: Vec<String> = drawn
            .iter()
            .map(|c| c.as_ref().unwrap().title.clone())
            .collect();
        assert_eq!(titles.len(), 2, "{titles:?}");
        assert!(titles[0].contains("time on one thread"), "{titles:?}");
        assert!(titles[1].contains("threads' speedup"), "{titles:?}");
        let svg = &drawn[1].as_ref().unwrap().svg;
        for want in ["1.89×", "0.95×", "python 3.13t GIL=1", "threads, 5 workers"] {
            assert!(
                texts(svg).iter().any(|t| t.contains(want)),
                "{want}: {:?}",
                texts(svg)
            );
        }
        // One Python column has nothing to set beside it.
        exp.rows.retain(|r| r.language == "python");
        assert!(without_gil(&exp, pairs(&exp)).is_empty());
    }

    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>')?.1.split_once("</text>"))
            .map(|(text, _)| text.trim())
            .collect()
    }

    #[test]
    fn map_draws_a_grid_per_pool_of_calls_by_language() {
        let mut exp = ExperimentResult::new("map", "Figure 5", Params::new());
        for language in ["rust", "python"] {
            for pool in ["pool-threads", "pool-processes"] {
                for call in ["map", "map_async", "imap", "imap_unordered"] {
                    // chunksize follows the call, as in the experiment: it must not
                    // turn up in the panels' names.
                    let chunksize = if call.starts_with("map") {
                        None
                    } else {
                        Some(1)
                    };
                    let params = crate::params! {"call" => call, "chunksize" => chunksize};
                    push_timed(&mut exp, row(pool, language, 0.5, params), 0.5);
                }
            }
        }
        // A row without events (a memory run) has no panel.
        exp.push(
            row(
                "pool-threads",
                "rust",
                0.1,
                crate::params! {"mode" => "memory"},
            ),
            Vec::new(),
        );
        let charts: Vec<Chart> = charts(&exp, 2).into_iter().map(Result::unwrap).collect();
        let titles: Vec<&str> = charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["map: pool-threads", "map: pool-processes"]);
        for chart in &charts {
            let texts = texts(&chart.svg);
            // A column head per language and a caption per call, once each.
            for name in ["rust", "python"] {
                assert_eq!(
                    texts.iter().filter(|t| **t == name).count(),
                    1,
                    "{name}: {texts:?}"
                );
            }
            for call in ["map", "map_async", "imap", "imap_unordered"] {
                assert_eq!(
                    texts.iter().filter(|t| **t == call).count(),
                    2,
                    "{call}: {texts:?}"
                );
            }
            assert!(!texts.iter().any(|t| t.contains("chunksize")), "{texts:?}");
            assert!(chart.svg.starts_with(&format!("<svg width=\"{WIDE}\"")));
        }
    }

    #[test]
    fn sched_draws_a_figure_per_variant_with_a_panel_per_technique() {
        let mut exp = ExperimentResult::new("sched", "Figures 6–8", Params::new());
        push_timed(
            &mut exp,
            row(
                "sequential",
                "rust",
                0.1,
                crate::params! {"variant" => "sequential"},
            ),
            0.1,
        );
        for variant in ["blocking", "busy"] {
            for technique in ["tokio-1", "tokio", "threads"] {
                let params = crate::params! {"variant" => variant};
                push_timed(&mut exp, row(technique, "rust", 0.1, params), 0.1);
            }
        }
        push_timed(
            &mut exp,
            row(
                "goroutines-1",
                "go",
                0.1,
                crate::params! {"variant" => "busy"},
            ),
            0.2,
        );
        let charts: Vec<Chart> = charts(&exp, 2).into_iter().map(Result::unwrap).collect();
        let titles: Vec<&str> = charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "sched: variant sequential",
                "sched: variant blocking",
                "sched: variant busy"
            ]
        );
        let busy = texts(&charts[2].svg);
        // Not every technique runs in every language, so the panels are named in full.
        for caption in [
            "tokio-1 (rust)",
            "tokio (rust)",
            "threads (rust)",
            "goroutines-1 (go)",
        ] {
            assert!(busy.contains(&caption), "{caption}: {busy:?}");
        }
        // One time axis for the figure: every panel runs to the slowest run's end.
        let ticks = |svg: &str| {
            texts(svg)
                .into_iter()
                .filter(|t| t.ends_with(" ms"))
                .count()
        };
        assert!(ticks(&charts[2].svg) >= 4 * 3, "{busy:?}");
        assert!(busy.contains(&"200.0 ms"), "{busy:?}");
    }

    #[test]
    fn a_param_only_one_language_lacks_does_not_split_the_figure() {
        let mut exp = ExperimentResult::new("channel", "Figure 9", Params::new());
        for technique in ["std-sync-channel", "crossbeam"] {
            let params = crate::params! {"capacity" => 1, "forget_close" => false};
            push_timed(&mut exp, row(technique, "rust", 0.25, params), 0.25);
        }
        push_timed(
            &mut exp,
            row("queue", "python", 0.25, crate::params! {"capacity" => 1}),
            0.25,
        );
        let charts = charts(&exp, 2);
        assert_eq!(charts.len(), 1);
        let svg = &charts[0].as_ref().unwrap().svg;
        let texts = texts(svg);
        for caption in [
            "std-sync-channel (rust)",
            "crossbeam (rust)",
            "queue (python)",
        ] {
            assert!(texts.contains(&caption), "{caption}: {texts:?}");
        }
    }

    #[test]
    fn pool_draws_a_panel_per_language_with_its_best_technique_per_order() {
        let mut exp = ExperimentResult::new("pool", "Figure 12", Params::new());
        let point = |technique: &str, language: &str, w: u64, order: &str, speedup: f64| {
            let p = crate::params! {"workers" => w, "order" => order};
            let mut r = row(technique, language, 1.0 / speedup, p);
            r.speedup = Some(speedup);
            r
        };
        for w in [1, 2, 4] {
            let w_f = w as f64;
            for r in [
                point("threads", "rust", w, "ascending", 0.9 * w_f),
                point("rayon", "rust", w, "ascending", 0.95 * w_f),
                point("threads", "rust", w, "largest-first", w_f),
                point("rayon", "rust", w, "largest-first", 0.5 * w_f),
                point("processes", "python", w, "ascending", 0.8 * w_f),
            ] {
                exp.push(r, Vec::new());
            }
        }
        let svg = speedup(&exp, 2, |_| None).unwrap().unwrap().svg;
        let texts = texts(&svg);
        assert!(texts.contains(&"rust (best of 2 techniques)"), "{texts:?}");
        assert!(texts.contains(&"python"), "{texts:?}");
        // rust: rayon is best in ascending order, threads in largest-first; each line
        // is named once at its end.
        let named = |t: &str| texts.iter().filter(|x| **x == t).count();
        assert_eq!(
            (named("rayon"), named("threads"), named("processes")),
            (1, 1, 1)
        );
        // Lines of three points (the legend's swatches have two), by colour.
        let lines = |c: RGBColor| {
            let stroke = format!(
                "stroke=\"#{:02X}{:02X}{:02X}\" stroke-width=\"2\" points=\"",
                c.0, c.1, c.2
            );
            svg.split(&stroke)
                .skip(1)
                .filter(|rest| rest.split('"').next().unwrap().split_whitespace().count() == 3)
                .count()
        };
        assert_eq!((lines(PALETTE[0]), lines(PALETTE[1])), (2, 1), "{svg}");
    }

    #[test]
    fn spread_values_get_a_log_axis() {
        assert!(spans_orders_of_magnitude([100.0, 2e6].into_iter()));
        assert!(!spans_orders_of_magnitude([100.0, 900.0].into_iter()));
        assert!(!spans_orders_of_magnitude(std::iter::empty()));
    }
}
