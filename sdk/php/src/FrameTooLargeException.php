<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** A frame the SDK refused to write because it exceeds maxFrameBytes (default 1 MiB). */
final class FrameTooLargeException extends WireError
{
    public function __construct(public readonly int $bytes, public readonly int $limit)
    {
        parent::__construct("frame of {$bytes} bytes exceeds the {$limit}-byte limit");
    }
}
