//! Wording templates. Slots are written `{name}`; `{u}` is the unit slot
//! (`" bpm"` or empty). Every template here is also what the faithfulness
//! checker parses, so wording changes keep captions checkable.

/// Low level: one sentence per channel with mean, max, min and std.
pub const STATISTICAL: &[&str] = &[
    "The average {channel} was {mean}{u}, ranging from {min}{u} to {max}{u} with a standard deviation of {std}.",
    "{channel} averaged {mean}{u} (min {min}, max {max}, std {std}).",
    "Mean {channel} was {mean}{u}; it peaked at {max}{u} and bottomed out at {min}{u}, with a standard deviation of {std}.",
    "Over the window, {channel} had a mean of {mean}{u}, a maximum of {max}{u}, a minimum of {min}{u} and a standard deviation of {std}.",
    "{channel} stayed between {min}{u} and {max}{u}, averaging {mean}{u} with a spread (std) of {std}.",
    "The {channel} readings had an average of {mean}{u} and a standard deviation of {std}, with extremes of {min}{u} and {max}{u}.",
    "Typical {channel} was {mean}{u} on average; the highest value was {max}{u}, the lowest {min}{u}, and the standard deviation {std}.",
    "{channel}: mean {mean}{u}, maximum {max}{u}, minimum {min}{u}, standard deviation {std}.",
    "Values of {channel} spanned {min}{u} to {max}{u} around a mean of {mean}{u} (standard deviation {std}).",
    "On average {channel} measured {mean}{u}, reaching a high of {max}{u} and a low of {min}{u}; its standard deviation was {std}.",
    "A mean {channel} of {mean}{u} was observed, with a standard deviation of {std}, a peak of {max}{u} and a trough of {min}{u}.",
    "{channel} fluctuated around {mean}{u} (std {std}), never exceeding {max}{u} nor falling below {min}{u}.",
    "The recorded {channel} had a maximum of {max}{u} and a minimum of {min}{u}, with a mean of {mean}{u} and a standard deviation of {std}.",
    "Across observed samples, {channel} averaged {mean}{u}, with a standard deviation of {std}, a minimum of {min}{u} and a maximum of {max}{u}.",
    "The lowest {channel} was {min}{u} and the highest {max}{u}; the mean was {mean}{u} and the standard deviation {std}.",
    "Statistics for {channel}: average {mean}{u}, standard deviation {std}, range {min}{u} to {max}{u}.",
    "{channel} showed a mean level of {mean}{u}, varying with a standard deviation of {std} between {min}{u} and {max}{u}.",
    "Measured {channel} ranged from a low of {min}{u} up to {max}{u}, with an average of {mean}{u} and a standard deviation of {std}.",
    "The mean value of {channel} was {mean}{u}, its standard deviation {std}, its maximum {max}{u} and its minimum {min}{u}.",
    "For {channel}, the average was {mean}{u}, the peak {max}{u}, the minimum {min}{u}, and the standard deviation {std}.",
];

/// Low level: a channel without any observed value.
pub const NO_DATA: &[&str] = &[
    "No {channel} data was observed.",
    "{channel} was not recorded in this window.",
    "There were no valid {channel} readings.",
];

/// Middle level: trend sentences; `{trend}` is a phrase from the lists below.
pub const TREND: &[&str] = &[
    "{channel} showed {trend} from minute {start} to minute {end}.",
    "Between minutes {start} and {end}, {channel} displayed {trend}.",
    "From minute {start} to {end}, {trend} was seen in {channel}.",
    "{trend} in {channel} ran from minute {start} to minute {end}.",
    "{channel} exhibited {trend} between minute {start} and minute {end}.",
    "During minutes {start} to {end}, {channel} followed {trend}.",
    "There was {trend} in {channel} from minute {start} until minute {end}.",
    "{channel} went through {trend} over minutes {start} to {end}.",
    "The {channel} signal had {trend} between minutes {start} and {end}.",
    "Minutes {start} through {end} saw {trend} in {channel}.",
    "{channel} data revealed {trend} spanning minutes {start} to {end}.",
    "In the period from minute {start} to minute {end}, {channel} showed {trend}.",
    "A look at {channel} shows {trend} from minute {start} to minute {end}.",
    "{channel} was characterised by {trend} between minutes {start} and {end}.",
    "Across minutes {start}-{end}, {channel} displayed {trend}.",
    "{channel} recorded {trend} from minute {start} to minute {end}.",
];

/// Phrases for an increasing trend.
pub const TREND_UP: &[&str] = &[
    "an increasing trend",
    "an upward trend",
    "a rising trend",
    "a steady climb",
    "a clear rise",
];
/// Phrases for a decreasing trend.
pub const TREND_DOWN: &[&str] = &[
    "a decreasing trend",
    "a downward trend",
    "a falling trend",
    "a steady decline",
    "a clear decline",
];
/// Phrases for a stable period.
pub const TREND_STABLE: &[&str] = &[
    "a stable pattern",
    "a flat trend",
    "little change",
    "a steady level",
    "a plateau",
];

/// Middle level: spike / drop sentences; `{anomaly}` is a phrase below.
pub const ANOMALY: &[&str] = &[
    "{anomaly} in {channel} occurred at minute {time}.",
    "{channel} showed {anomaly} around minute {time}.",
    "At minute {time}, {channel} had {anomaly}.",
    "There was {anomaly} in {channel} at minute {time}.",
    "{channel} exhibited {anomaly} near minute {time}.",
    "Around minute {time}, {anomaly} appeared in {channel}.",
    "{anomaly} was observed in {channel} at about minute {time}.",
    "The {channel} signal displayed {anomaly} at minute {time}.",
    "Near minute {time} there was {anomaly} in {channel}.",
    "{channel} registered {anomaly} at roughly minute {time}.",
    "A look at minute {time} reveals {anomaly} in {channel}.",
    "{channel} data contained {anomaly} at minute {time}.",
    "Minute {time} brought {anomaly} in {channel}.",
    "{anomaly} stood out in {channel} around minute {time}.",
    "In {channel}, {anomaly} was detected at minute {time}.",
    "{channel} underwent {anomaly} close to minute {time}.",
];
/// Middle level: nothing notable.
pub const NO_INSIGHTS: &[&str] = &[
    "No notable trends or anomalies were found.",
    "The signals showed no notable trends or anomalies.",
];

/// Phrases for a spike (peak).
pub const SPIKE: &[&str] = &[
    "a spike",
    "a sharp peak",
    "a sudden surge",
    "a brief spike",
    "an abrupt peak",
];
/// Phrases for a drop.
pub const DROP: &[&str] = &[
    "a drop",
    "a sharp dip",
    "a sudden fall",
    "a brief drop",
    "an abrupt dip",
];

/// High level: an activity bout.
pub const ACTIVITY_EVENT: &[&str] = &[
    "{activity} was detected between minutes {start} and {end}.",
    "An episode of {activity} lasted from minute {start} to minute {end}.",
    "{activity} took place from minute {start} to minute {end}.",
    "Between minutes {start} and {end}, {activity} was recorded.",
    "A bout of {activity} was logged from minute {start} until minute {end}.",
    "From minute {start} to minute {end}, the wearer engaged in {activity}.",
    "{activity} occurred during minutes {start} to {end}.",
    "The activity log shows {activity} between minute {start} and minute {end}.",
];
/// High level: a sleep period.
pub const SLEEP_EVENT: &[&str] = &[
    "Sleep was recorded from minute {start} to minute {end}.",
    "The person slept between minutes {start} and {end}.",
    "A sleep period lasted from minute {start} until minute {end}.",
    "From minute {start} to minute {end}, the wearer was asleep.",
    "Sleep occurred during minutes {start} to {end}.",
    "A period of sleep was detected between minute {start} and minute {end}.",
];
/// High level: a logged mood.
pub const MOOD_EVENT: &[&str] = &[
    "A mood of {mood} was logged at minute {time}.",
    "The person reported feeling {mood} at minute {time}.",
    "At minute {time}, the wearer logged feeling {mood}.",
    "Mood entry at minute {time}: {mood}.",
    "Feeling {mood} was recorded at minute {time}.",
];
/// High level: nothing to report.
pub const NO_EVENTS: &[&str] = &[
    "No activities, sleep or moods were recorded.",
    "The log holds no activities, sleep periods or moods.",
    "No events were logged for this period.",
];

/// High-level summary: activity bouts.
pub const SUMMARY_ACTIVITY: &[&str] = &[
    "Activity bouts recorded: {n} ({list}).",
    "Number of sustained activity bouts: {n}, namely {list}.",
    "The log lists {n} sustained activity bout(s): {list}.",
];
/// High-level summary: no activity bouts.
pub const SUMMARY_NO_ACTIVITY: &[&str] = &[
    "No sustained activity bouts were recorded.",
    "The log shows no sustained activity.",
];
/// High-level summary: sleep.
pub const SUMMARY_SLEEP: &[&str] = &[
    "Total sleep: {minutes} minutes over {n} period(s).",
    "Sleep periods: {n}, totalling {minutes} minutes.",
    "The wearer slept {minutes} minutes in {n} period(s).",
];
/// High-level summary: no sleep.
pub const SUMMARY_NO_SLEEP: &[&str] = &["No sleep was recorded.", "The log shows no sleep."];
/// High-level summary: moods.
pub const SUMMARY_MOOD: &[&str] = &[
    "Moods logged: {n} ({list}).",
    "Number of mood entries: {n}, namely {list}.",
];
/// High-level summary: no moods.
pub const SUMMARY_NO_MOOD: &[&str] = &["No moods were logged.", "The log holds no mood entries."];

/// Trend text (SensorLLM): sentence openings; clauses follow after ": ".
pub const SEGMENT_INTRO: &[&str] = &[
    "Trend of {channel}",
    "{channel} over the window",
    "Looking at {channel}",
    "Changes in {channel}",
    "The {channel} signal",
    "For {channel}",
    "{channel} evolves as follows",
    "Segments of {channel}",
];
/// Trend text: an increasing segment.
pub const SEGMENT_UP: &[&str] = &[
    "rises from {start} s to {end} s",
    "increases between {start} and {end} seconds",
    "goes up from {start} s to {end} s",
    "climbs during {start}-{end} s",
    "trends upward from {start} s to {end} s",
];
/// Trend text: a decreasing segment.
pub const SEGMENT_DOWN: &[&str] = &[
    "falls from {start} s to {end} s",
    "decreases between {start} and {end} seconds",
    "goes down from {start} s to {end} s",
    "drops during {start}-{end} s",
    "trends downward from {start} s to {end} s",
];
/// Trend text: a steady segment.
pub const SEGMENT_STEADY: &[&str] = &[
    "stays steady from {start} s to {end} s",
    "holds constant between {start} and {end} seconds",
    "remains flat from {start} s to {end} s",
    "is stable during {start}-{end} s",
    "levels off from {start} s to {end} s",
];
/// Trend text: per-channel summary; `{overall}` is a phrase below.
pub const CHANNEL_SUMMARY: &[&str] = &[
    "Overall, {channel} has a mean of {mean} and a standard deviation of {std}, showing {overall}.",
    "{channel} averages {mean} (std {std}) with {overall}.",
    "Summary of {channel}: mean {mean}, standard deviation {std}, {overall}.",
    "Across the window {channel} shows {overall}, with mean {mean} and std {std}.",
    "The mean of {channel} is {mean} and its standard deviation {std}; it shows {overall}.",
];
/// Overall trend phrases: up.
pub const OVERALL_UP: &[&str] = &["an overall upward trend", "an overall increase"];
/// Overall trend phrases: down.
pub const OVERALL_DOWN: &[&str] = &["an overall downward trend", "an overall decrease"];
/// Overall trend phrases: none.
pub const OVERALL_FLAT: &[&str] = &["no clear overall trend", "an overall flat profile"];
/// Trend text: correlation between two channels.
pub const CORRELATION: &[&str] = &[
    "The correlation between {a} and {b} is {r}.",
    "{a} and {b} are correlated with a coefficient of {r}.",
    "Pearson correlation of {a} with {b}: {r}.",
    "{a} and {b} move together with correlation {r}.",
];

/// Activity text (NLS): the base template.
pub const ACTIVITY_BASE: &str = "This is wearable sensor data for a person engaged in {activity}";

/// Activity text: the bank (the base template first, then 32 alternatives).
pub const ACTIVITY: &[&str] = &[
    ACTIVITY_BASE,
    "This is wearable sensor data of a person doing {activity}",
    "Wearable sensor readings recorded while a person was {activity}",
    "Sensor data from a wearable device captured during {activity}",
    "A person performing {activity}, as measured by a wearable sensor",
    "These motion signals come from someone engaged in {activity}",
    "The wearer is engaged in {activity}",
    "Recording of body movement during {activity}",
    "Accelerometer and gyroscope data of a person doing {activity}",
    "This sensor window shows the activity {activity}",
    "Data captured by a wearable while its owner was busy with {activity}",
    "Inertial sensor signals of {activity}",
    "A wearable device logged these signals during {activity}",
    "Someone wearing a sensor is engaged in {activity}",
    "Movement data recorded while a person carried out {activity}",
    "The activity in this sensor recording is {activity}",
    "Smartwatch sensor data from a session of {activity}",
    "Wrist-worn sensor measurements during {activity}",
    "Here a person is doing {activity} while wearing a sensor",
    "This clip of wearable data corresponds to {activity}",
    "Body-worn sensor signals collected during {activity}",
    "The person wearing the device is performing {activity}",
    "Wearable motion data labelled as {activity}",
    "Sensor measurements that reflect {activity}",
    "A segment of wearable sensor data during {activity}",
    "Signals from a wearable sensor while the user did {activity}",
    "This window of sensor data captures {activity}",
    "The subject is engaged in {activity}, recorded by a wearable sensor",
    "Motion sensors on the body registered {activity}",
    "These readings were taken from a person engaged in {activity}",
    "A recording of wearable sensor data showing {activity}",
    "The wearable captured a person in the middle of {activity}",
    "Sensor data of human activity: {activity}",
];
