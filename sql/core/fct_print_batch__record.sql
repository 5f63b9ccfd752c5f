-- core.fct_print_batch and core.fct_print_batch_letter: one released batch of the wave day $wave_date, from
-- its batch file $batch (Parquet, one row per piece in print order) and its PDF's record ($print_batch,
-- $path, $pieces, $pages, $sha256, $bytes) in print job $job_id. Run by convoc.letters.batches.record_batches
-- once per batch, after the day's rows of both tables were deleted: re-recording a day replaces it.

-- grain: one row per print batch
insert into core.fct_print_batch
with pieces as (
    select piece_id from read_parquet($batch)
),

final as (
    select
        $job_id as job_id,
        $print_batch as print_batch,
        cast($wave_date as date) as wave_date,
        $path as path,
        $pieces as pieces,
        $pages as pages,
        min(piece_id) as first_piece,
        max(piece_id) as last_piece,
        $sha256 as sha256,
        $bytes as bytes
    from pieces
)

select * from final;

-- grain: one row per letter of the batch (invitation × piece)
insert into core.fct_print_batch_letter
with letters as (
    select piece_id, invitation_id from read_parquet($batch)
),

final as (
    select
        cast($wave_date as date) as wave_date,
        $job_id as job_id,
        $print_batch as print_batch,
        letters.piece_id,
        letters.invitation_id
    from letters
)

select * from final;
