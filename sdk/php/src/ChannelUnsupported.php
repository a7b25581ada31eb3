<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33005: the channel cannot send this; `data: {feature}`. */
class ChannelUnsupported extends ChannelError
{
    public function __construct(public readonly string $feature)
    {
        parent::__construct("unsupported: {$feature}", ErrorCodes::CHANNEL_UNSUPPORTED, ['feature' => $feature]);
    }
}
